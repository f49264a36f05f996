import { afterAll, beforeAll } from 'vitest'
import type { Database } from '../store/database.js'
import { openStore, type Store } from '../store.js'
import { openFreshDatabase } from './fresh-database.js'
import { type Driver, storeForDriver } from './store-for-driver.js'

/*
 * vitest hooks for the setup most test files repeat: register them at the top of a file or of a
 * describe, and read the handle inside its tests (its fields are there from its beforeAll on).
 * Kept out of `@podline/runner/testing`, which programs outside vitest (bench) import too.
 */

function opened<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not open: read it inside a test or a hook`)
  return value
}

export interface FreshDatabase {
  /** The URL of the test's own database. */
  readonly url: string
  readonly database: Database
  /** `{ DATABASE_URL: url }`, for the environment of a child process. */
  readonly env: { DATABASE_URL: string }
}

/** A fresh, migrated database of its own, opened before the tests and closed and dropped after them. */
export function useFreshDatabase(options: { poolSize?: number; prefix?: string } = {}): FreshDatabase {
  let fresh: Awaited<ReturnType<typeof openFreshDatabase>> | undefined
  beforeAll(async () => {
    fresh = await openFreshDatabase(options.prefix, { poolSize: options.poolSize })
  })
  afterAll(async () => {
    await fresh?.close()
  })
  return {
    get url() {
      return opened(fresh, 'the fresh database').url
    },
    get database() {
      return opened(fresh, 'the fresh database').database
    },
    get env() {
      return { DATABASE_URL: opened(fresh, 'the fresh database').url }
    },
  }
}

export interface DriverStore {
  /** What the store was opened with (a database of its own, or a data dir of its own). */
  readonly options: { databaseUrl?: string; dataDir?: string }
  readonly store: Store
  readonly database: Database
}

/**
 * A store in a fresh place on `driver` (storeForDriver), opened before the tests and closed and
 * removed after them. On PGlite one process owns the store: the tests share it rather than reopen it.
 */
export function useStore(driver: Driver): DriverStore {
  let options: DriverStore['options'] | undefined
  let store: Store | undefined
  let cleanup = async () => {}
  beforeAll(async () => {
    const place = await storeForDriver(driver)
    ;({ options, cleanup } = place)
    store = await openStore(place.options)
  })
  afterAll(async () => {
    await store?.close()
    await cleanup()
  })
  return {
    get options() {
      return opened(options, `the ${driver} store`)
    },
    get store() {
      return opened(store, `the ${driver} store`)
    },
    get database() {
      return opened(store, `the ${driver} store`).database
    },
  }
}
