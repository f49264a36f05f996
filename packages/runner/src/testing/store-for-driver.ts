import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freshDatabase } from './fresh-database.js'

export type Driver = 'postgres' | 'pglite'

/**
 * Options that point the store at a fresh place for one test file, on either driver: a database of
 * its own on PostgreSQL, a temporary folder for the embedded store. `cleanup` removes it.
 */
export async function storeForDriver(
  driver: Driver,
): Promise<{ options: { databaseUrl?: string; dataDir?: string }; cleanup: () => Promise<void> }> {
  if (driver === 'postgres') {
    const db = await freshDatabase()
    return { options: { databaseUrl: db.url }, cleanup: db.drop }
  }
  const dir = mkdtempSync(join(tmpdir(), 'podline-store-'))
  // An empty DATABASE_URL selects the embedded store even when the environment sets one.
  return {
    options: { databaseUrl: '', dataDir: dir },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  }
}
