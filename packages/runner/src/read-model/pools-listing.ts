import { sql } from 'drizzle-orm'
import { CLAIMABLE_TASK_STATES } from '../engine/states.js'
import { runningSlots } from '../queue/pool-slots.js'
import { states } from '../queue/sql-values.js'
import type { Database } from '../store/database.js'
import { ADMITTED } from '../store/schema.js'

/** One pool as `podline pools` shows it. */
export interface PoolListing {
  name: string
  /** Null for a pool that task runs name but that does not exist (deleted, or never created). */
  slots: number | null
  description: string | null
  /** Slots its running task runs take now. */
  runningSlots: number
  /** Its task runs waiting for a claim: queued, or up for retry (due or not). */
  queued: number
}

/**
 * Every pool, by name, with the slots its running task runs take and how many of its task runs wait;
 * and, as missing, any pool that waiting task runs name but that has no row. The running slots are
 * counted as the claim counts them (task_runs_pool_running_idx); the waiting ones from the claim's
 * index, whole: a listing for an operator, not a hot path.
 */
export function listPools(database: Database): Promise<PoolListing[]> {
  return database.rows<PoolListing>(sql`
    with waiting as (
      select pool, count(*)::int as n from podline.task_runs
      where state in ${states(...CLAIMABLE_TASK_STATES)} and pool is not null and ${ADMITTED}
      group by pool
    ), named as (
      select name, slots, description from podline.pools
      union all
      select pool, null, null from waiting where pool not in (select name from podline.pools)
    )
    select n.name, n.slots, n.description,
           ${runningSlots(sql`n.name`)}::int as "runningSlots",
           coalesce((select w.n from waiting w where w.pool = n.name), 0) as queued
    from named n order by n.name`)
}
