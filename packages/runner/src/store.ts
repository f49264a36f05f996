import { type Database, type DatabaseOptions, openDatabase } from './store/database.js'

export interface StoreOptions extends DatabaseOptions {
  /** Apply pending migrations on open. Default: always on the embedded store, never on PostgreSQL (run `podline migrate`). */
  migrate?: boolean
}

export interface Store {
  readonly database: Database
  /** Registers cleanup that runs, in reverse order, when the store closes. */
  onClose(fn: () => Promise<void>): void
  close(): Promise<void>
}

/** Opens the store the options or the environment point at, migrating the embedded one. */
export async function openStore(options: StoreOptions = {}): Promise<Store> {
  const database = await openDatabase(options)
  const cleanups: Array<() => Promise<void>> = []
  if (options.migrate ?? true) await database.migrate()
  return {
    database,
    onClose: (fn) => cleanups.push(fn),
    async close() {
      for (const fn of cleanups.reverse()) await fn().catch(() => {})
      await database.close()
    },
  }
}

/** A store over a database the caller owns: closing it runs the cleanups but leaves the database open. */
export function borrowStore(database: Database): Store {
  const cleanups: Array<() => Promise<void>> = []
  return {
    database,
    onClose: (fn) => cleanups.push(fn),
    async close() {
      for (const fn of cleanups.reverse()) await fn().catch(() => {})
    },
  }
}
