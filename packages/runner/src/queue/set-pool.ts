import { poolNameProblem } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { partsOf } from './pool-slots.js'
import { POOL_CHANNEL, state } from './sql-values.js'

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
 * it wakes the workers waiting on it. Writes the pool's rows alone, its parts in step with its slots
 * (pool-slots.ts; a part removed waits only for the claim that holds it), so it cannot close a cycle
 * of waits.
 */
export async function setPool(database: Database, settings: PoolSettings): Promise<PoolChange> {
  const { name, slots, description } = settings
  const problem = poolNameProblem(name)
  if (problem) throw new InvalidPoolError(problem)
  if (!Number.isInteger(slots) || slots < 0 || slots > 2_147_483_647)
    throw new InvalidPoolError(`pool "${name}": slots must be a whole number from 0 up, got ${slots}`)
  const stored = description === '' ? null : (description ?? null)
  const parts = partsOf(sql`${slots}::int`)
  const [row] = await database.rows<PoolChange>(sql`
    with before as (
      select slots from podline.pools where name = ${name}
    ), written as (
      insert into podline.pools as p (name, slots, description) values (${name}, ${slots}, ${stored})
      on conflict (name) do update
        set slots = excluded.slots, updated_at = now(),
            description = case when ${description === undefined} then p.description else excluded.description end
    ), parts_added as (
      insert into podline.pool_parts (pool, part)
      select ${name}, part from generate_series(0, ${parts} - 1) as part
      on conflict do nothing
    ), parts_removed as (
      delete from podline.pool_parts where pool = ${name} and part >= ${parts}
    ), runs_moved as (
      -- The running task runs of a removed part count in a part that remains. Locked in id order,
      -- as every statement locks task runs, so it cannot close a cycle of waits with one.
      update podline.task_runs set pool_part = pool_part % ${parts}
      where id in (select id from podline.task_runs
                   where pool = ${name} and state = ${state('running')} and pool_part >= ${parts}
                   order by id for no key update)
    )
    select (select slots from before) as "previousSlots", pg_notify(${POOL_CHANNEL}, ${name})`)
  return { previousSlots: row?.previousSlots ?? null }
}
