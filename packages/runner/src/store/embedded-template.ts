import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileEmbeddedWasmForStartup } from './embedded-wasm.js'
import { MIGRATIONS_FOLDER, migrationsDigest } from './migrations-folder.js'

/*
 * A new embedded store would run PGlite's initdb and every migration: about 3 s on a quiet 2-core
 * machine, 9 s on a busy one, against 0.5 s to copy a data directory that was prepared once. So the
 * first store made on a machine also leaves a migrated, never-used copy in the user's cache, named
 * after the migrations and the PGlite build (a new schema or engine prepares a new one), and every
 * later new store starts as a copy of it.
 */

/** Where prepared stores are kept: PODLINE_CACHE_DIR, else the XDG cache, else ~/.cache. */
function cacheRoot(): string {
  const explicit = process.env.PODLINE_CACHE_DIR
  if (explicit) return resolve(explicit)
  const xdg = process.env.XDG_CACHE_HOME
  return join(xdg ? resolve(xdg) : join(homedir(), '.cache'), 'podline')
}

function pgliteVersion(): string {
  try {
    const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'))
    // The package's entry is dist/index.js; its package.json (not exported) sits one level up.
    const manifest = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'))
    return String(manifest.version)
  } catch {
    return 'unknown'
  }
}

export function preparedStoreDir(): string {
  return join(cacheRoot(), `embedded-${pgliteVersion()}-${migrationsDigest()}`)
}

/**
 * Fills `pgdata` (which must not exist) with a copy of the prepared store, preparing it first when
 * this machine has none. Returns false when no prepared store could be used (an unwritable cache):
 * the caller then lets PGlite run initdb in place, as before.
 */
export async function seedFromPreparedStore(pgdata: string): Promise<boolean> {
  const prepared = preparedStoreDir()
  try {
    if (!existsSync(join(prepared, 'PG_VERSION'))) await prepare(prepared)
    cpSync(prepared, pgdata, { recursive: true })
    return true
  } catch {
    rmSync(pgdata, { recursive: true, force: true })
    return false
  }
}

/** Builds the prepared store beside its final place and renames it in, so racing processes never see half of one. */
async function prepare(target: string): Promise<void> {
  compileEmbeddedWasmForStartup()
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  const { migrate } = await import('drizzle-orm/pglite/migrator')
  mkdirSync(dirname(target), { recursive: true })
  const building = `${target}.${process.pid}.${Date.now()}.tmp`
  const client = await PGlite.create(building)
  try {
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER })
  } finally {
    await client.close()
  }
  try {
    renameSync(building, target)
  } catch (error) {
    rmSync(building, { recursive: true, force: true })
    // Another process prepared it first: theirs is as good as ours.
    if (!existsSync(join(target, 'PG_VERSION'))) throw error
  }
}
