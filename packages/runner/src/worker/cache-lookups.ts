import { type CacheHit, type CacheLookup, findCacheEntries } from '../queue/task-cache.js'
import type { Database } from '../store/database.js'

/** Lookups per statement at most. */
const MAX_LOOKUPS = 500

interface Pending {
  lookup: CacheLookup
  resolve: (hit: CacheHit | undefined) => void
  reject: (error: unknown) => void
}

/**
 * A worker's cache lookups, batched: the lookups of attempts that reach their cache together are
 * answered by one statement. One statement is in flight at a time; the lookups that arrive
 * meanwhile form the next. When every task of a run is a hit, a lookup per attempt would be most
 * of the run's time (a round trip per task, beside a claim and a completion batched already).
 * A failed statement rejects each lookup of its batch: each attempt fails as a lost round trip would.
 */
export class CacheLookups {
  readonly #database: Database
  #pending: Pending[] = []
  #busy = false

  constructor(database: Database) {
    this.#database = database
  }

  /** The live entry of a task's key, if there is one. */
  find(lookup: CacheLookup): Promise<CacheHit | undefined> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ lookup, resolve, reject })
      // Deferred: lookups of attempts that settle in the same turn join one statement.
      if (!this.#busy) {
        this.#busy = true
        setImmediate(() => void this.#flush())
      }
    })
  }

  async #flush(): Promise<void> {
    const batch = this.#pending.splice(0, MAX_LOOKUPS)
    try {
      const found = await findCacheEntries(
        this.#database,
        batch.map((p) => p.lookup),
      )
      const hits = new Map(found.map(({ index, ...hit }) => [index, hit]))
      for (const [i, p] of batch.entries()) p.resolve(hits.get(i))
    } catch (error) {
      for (const p of batch) p.reject(error)
    } finally {
      if (this.#pending.length > 0) setImmediate(() => void this.#flush())
      else this.#busy = false
    }
  }
}
