import { emptyDatabase, type ScratchDatabase, TEST_SERVER_URL } from '@podline/runner/testing'
import postgres from 'postgres'

/** The PostgreSQL server every benchmark uses: DATABASE_URL, else the local one (as the tests). */
export const SERVER_URL = TEST_SERVER_URL
export { emptyDatabase }
export type BenchDatabase = ScratchDatabase

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
