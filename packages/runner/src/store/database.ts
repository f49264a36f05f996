import { existsSync, mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import type { SQL } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type { Sql } from 'postgres'
import { lockEmbeddedStore } from './embedded-lock.js'
import { seedFromPreparedStore } from './embedded-template.js'
import { compileEmbeddedWasmForStartup } from './embedded-wasm.js'
import { MIGRATIONS_FOLDER } from './migrations-folder.js'
import * as schema from './schema.js'
import { readSchemaState, type SchemaState } from './schema-state.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
export type Executor = Db | Tx

export interface DatabaseOptions {
  /** A PostgreSQL URL. Without it (and without `DATABASE_URL`), the embedded store is used. */
  databaseUrl?: string
  /** Folder of the embedded store. Default `.podline/` in the current folder. */
  dataDir?: string
  /** Connections of the postgres.js pool (PODLINE_DB_POOL_SIZE). Default DEFAULT_POOL_SIZE. */
  poolSize?: number
}

/**
 * A process's pool: a worker's queue work (claims, completions, logs) shares these. Beside them a
 * worker holds one connection for LISTEN and one for its lease thread; a CLI verb opens a pool of one.
 */
export const DEFAULT_POOL_SIZE = 4

/** How long opening a database waits for a free connection when the server has none ("too many clients"). */
const FULL_SERVER_WAIT_MS = 10_000

/** One store over two drivers: the same schema and the same SQL on PostgreSQL and on embedded PGlite. */
export interface Database {
  readonly db: Db
  readonly driver: 'postgres' | 'pglite'
  /** Where the data lives, with any password removed: what error messages and logs show. */
  readonly location: string
  /** Runs raw SQL (through drizzle's `sql`) and returns its rows, whichever the driver. */
  rows<T>(query: SQL, executor?: Executor): Promise<T[]>
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>
  /** Applies the checked-in migrations that have not run yet (safe when many workers start together). */
  migrate(): Promise<void>
  /** Whether the store holds this build's schema; `migrate()` returns at once when it is current. */
  schemaState(): Promise<SchemaState>
  /** This store's id (made at migrate, kept in the database): labels its pods apart from other stores'. */
  storeId(): Promise<string>
  /**
   * The PostgreSQL URL with its password, for a connection of its own off the main thread (the
   * worker's lease thread). A method, so the secret never shows in a logged or printed object.
   * Absent on the embedded store, which one process alone can open.
   */
  connectionUrl?(): string
  close(): Promise<void>
}

export class DatabaseUnreachableError extends Error {
  override readonly name = 'DatabaseUnreachableError'
}

/** The URL with its password removed, wherever libpq accepts one: the userinfo or `?password=`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    for (const key of [...u.searchParams.keys()])
      if (key.toLowerCase() === 'password') u.searchParams.set(key, '***')
    return u.toString()
  } catch {
    return '(an unparseable DATABASE_URL)'
  }
}

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const url = options.databaseUrl ?? process.env.DATABASE_URL
  return url
    ? openPostgres(url, options.poolSize ?? DEFAULT_POOL_SIZE)
    : openPglite(resolve(options.dataDir ?? (process.env.PODLINE_DATA_DIR || '.podline')))
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const location = redactUrl(url)
  const client: Sql = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    connect_timeout: 10,
    // Every value is a parameter and postgres.js prepares each distinct statement once per connection.
    prepare: true,
  })
  try {
    await firstConnection(client)
  } catch (error) {
    await client.end({ timeout: 0 }).catch(() => {})
    const reason = error instanceof Error ? error.message : String(error)
    if (isServerFull(error)) {
      throw new DatabaseUnreachableError(
        `PostgreSQL at ${location} has no connection to spare (${reason}), still after ${FULL_SERVER_WAIT_MS / 1000} s. ` +
          `Each worker holds up to PODLINE_DB_POOL_SIZE (default ${DEFAULT_POOL_SIZE}) + 2 connections and each CLI command 2: ` +
          "raise the server's max_connections, lower PODLINE_DB_POOL_SIZE, or put PgBouncer in front (docs/deploy.md, Connections).",
        { cause: error },
      )
    }
    throw new DatabaseUnreachableError(
      `cannot reach PostgreSQL at ${location}: ${reason}. Check that the server runs and DATABASE_URL is right, or unset DATABASE_URL to use the embedded store.`,
      { cause: error },
    )
  }
  const db = drizzle({ client, schema }) as unknown as Db
  const { PgDialect } = await import('drizzle-orm/pg-core')
  const dialect = new PgDialect()
  // Straight to postgres.js, prepared: drizzle's execute() sends every statement unnamed, so
  // PostgreSQL parsed and planned each anew (0.2 ms + 0.36 ms a statement here, two thirds of a
  // chain step's completion). The executor (the database or a transaction) holds its connection in
  // its session, which drizzle does not expose by type.
  const rows = async <T>(query: SQL, executor: Executor = db) => {
    const { sql: text, params } = dialect.sqlToQuery(query)
    const connection = (executor as unknown as { session: { client: Sql } }).session.client
    return (await connection.unsafe(text, params as never[], { prepare: true })) as unknown as T[]
  }
  return {
    db,
    storeId: storeIdReader(db),
    connectionUrl: () => url,
    driver: 'postgres',
    location,
    rows,
    async listen(channel, onNotify) {
      const sub = await client.listen(channel, (payload) => onNotify(payload))
      return () => sub.unlisten()
    },
    schemaState: () => readSchemaState({ rows }),
    async migrate() {
      if ((await readSchemaState({ rows })) === 'current') return
      // One dedicated connection holds a session advisory lock, so concurrent starts migrate once.
      const { migrate } = await import('drizzle-orm/postgres-js/migrator')
      const one = postgres(url, { max: 1, onnotice: () => {} })
      try {
        await one`select pg_advisory_lock(hashtext('podline.migrate'))`
        await migrate(drizzle({ client: one }), { migrationsFolder: MIGRATIONS_FOLDER })
      } finally {
        await one.end({ timeout: 5 })
      }
    },
    close: () => client.end({ timeout: 5 }),
  }
}

/*
 * The embedded store serves one local process: PostgreSQL's default 128 MB of shared buffers would
 * all be resident in the WebAssembly heap once touched. 16 MB holds a local run's working set; the
 * rest of what it reads is cached by the OS beneath PGlite's file system.
 */
const EMBEDDED_SETTINGS = { postgresqlconf: ['shared_buffers=16MB'] }

async function openPglite(dataDir: string): Promise<Database> {
  compileEmbeddedWasmForStartup()
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  mkdirSync(dataDir, { recursive: true })
  const unlock = await lockEmbeddedStore(dataDir)
  const pgdata = resolve(dataDir, 'pgdata')
  let client: PGlite
  try {
    const seeded = !existsSync(pgdata) && (await seedFromPreparedStore(pgdata))
    client = await PGlite.create(pgdata, EMBEDDED_SETTINGS)
    // A copy of the prepared store carries its id: this store is a new one.
    if (seeded) await client.query('update podline.store set id = gen_random_uuid()')
  } catch (error) {
    unlock()
    throw new DatabaseUnreachableError(
      `cannot open the embedded store in ${dataDir}: ${error instanceof Error ? error.message : String(error)}. ` +
        'Another podline process may hold it; stop it, or point DATABASE_URL at PostgreSQL.',
      { cause: error },
    )
  }
  const db = drizzle({ client, schema }) as unknown as Db
  const rows = async <T>(query: SQL, executor: Executor = db) =>
    ((await executor.execute(query)) as unknown as { rows: T[] }).rows
  return {
    db,
    storeId: storeIdReader(db),
    driver: 'pglite',
    location: dataDir,
    rows,
    async listen(channel, onNotify) {
      const unlisten = await client.listen(channel, onNotify)
      return unlisten
    },
    schemaState: () => readSchemaState({ rows }),
    async migrate() {
      if ((await readSchemaState({ rows })) === 'current') return
      const { migrate } = await import('drizzle-orm/pglite/migrator')
      await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER })
    },
    async close() {
      await client.close()
      unlock()
    },
  }
}

/** "too many clients already", or a role's or a database's connection limit: the server is full, for now. */
function isServerFull(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === '53300'
}

/**
 * The first statement, waiting with backoff while the server is full: a burst of commands beside
 * busy workers ends once some of them finish, and failing at once would fail the whole burst.
 */
async function firstConnection(client: Sql): Promise<void> {
  const deadline = Date.now() + FULL_SERVER_WAIT_MS
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      await client`select 1`
      return
    } catch (error) {
      if (!isServerFull(error) || Date.now() + delay > deadline) throw error
      // Jitter: a burst that failed together must not come back together.
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * delay))
    }
  }
}

/** Reads the store's id once; it never changes for the life of a store. */
function storeIdReader(db: Db): () => Promise<string> {
  let id: Promise<string> | undefined
  return () => {
    id ??= db
      .select({ id: schema.store.id })
      .from(schema.store)
      .limit(1)
      .then(([row]) => {
        if (!row) throw new Error('this store has no identity row; run `podline migrate` to create it')
        return row.id
      })
    id.catch(() => {
      id = undefined
    })
    return id
  }
}
