import { poolNameProblem } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { POOL_CHANNEL } from './sql-values.js'

export interface PoolSettings {
  name: string
  /** Task runs of the pool take at most this many slots at once, across all workers; 0 stops the pool. */
  slots: number
  /** Kept as it was when undefined; '' clears it. */
  description?: string
}

export interface PoolChange {
  /** The slots it had before; null when this created it. */
  previousSlots: number | null
}

/** A pool name or slot count that cannot be stored. */
export class InvalidPoolError extends Error {
  override readonly name = 'InvalidPoolError'
}

/**
 * Creates a pool or changes its slots (`podline pools set`). A change applies to the next claims:
 * shrinking a pool stops nothing that runs, its task runs wait until the running ones fit; growing
 * it wakes the workers waiting on it. Writes the pool's row alone (and waits only for the claims that
 * hold it), so it cannot close a cycle of waits.
 */
export async function setPool(database: Database, settings: PoolSettings): Promise<PoolChange> {
  const { name, slots, description } = settings
  const problem = poolNameProblem(name)
  if (problem) throw new InvalidPoolError(problem)
  if (!Number.isInteger(slots) || slots < 0 || slots > 2_147_483_647)
    throw new InvalidPoolError(`pool "${name}": slots must be a whole number from 0 up, got ${slots}`)
  const stored = description === '' ? null : (description ?? null)
  const [row] = await database.rows<PoolChange>(sql`
    with before as (
      select slots from podline.pools where name = ${name}
    ), written as (
      insert into podline.pools as p (name, slots, description) values (${name}, ${slots}, ${stored})
      on conflict (name) do update
        set slots = excluded.slots, updated_at = now(),
            description = case when ${description === undefined} then p.description else excluded.description end
    )
    select (select slots from before) as "previousSlots", pg_notify(${POOL_CHANNEL}, ${name})`)
  return { previousSlots: row?.previousSlots ?? null }
}
