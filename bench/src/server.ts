import { randomUUID } from 'node:crypto'
import postgres from 'postgres'

/** The PostgreSQL server every benchmark uses: DATABASE_URL, else the local one. */
export const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

export interface BenchDatabase {
  url: string
  drop(): Promise<void>
}

/** A new, empty database on the server, so no benchmark sees another's rows or bloat. */
export async function emptyDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 10)}`
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end()
  }
  return {
    url: withDatabase(SERVER_URL, name),
    async drop() {
      const a = postgres(SERVER_URL, { max: 1, onnotice: () => {} })
      try {
        await a.unsafe(`drop database if exists ${name} with (force)`)
      } finally {
        await a.end()
      }
    },
  }
}

/** The server's version and the settings that bound its commit rate. */
export async function serverFacts(): Promise<{ version: string; synchronousCommit: string; fsync: string }> {
  const sql = postgres(SERVER_URL, { max: 1, onnotice: () => {} })
  try {
    const [v] = await sql<{ v: string }[]>`select current_setting('server_version') as v`
    const [s] = await sql<{ v: string }[]>`select current_setting('synchronous_commit') as v`
    const [f] = await sql<{ v: string }[]>`select current_setting('fsync') as v`
    return { version: v?.v ?? '?', synchronousCommit: s?.v ?? '?', fsync: f?.v ?? '?' }
  } finally {
    await sql.end()
  }
}
