import { type SQL, sql } from 'drizzle-orm'
import { POOL_CHANNEL, state } from './sql-values.js'

/**
 * The slots the running task runs of `pool` take, as the statement's snapshot sees them: those
 * running under a lease (a mapped task's expanded row runs without one, and takes none). One
 * definition for the claim, which admits from it, and `podline pools`, which shows it; a probe of
 * task_runs_pool_running_idx, a few rows.
 */
export function runningSlots(pool: SQL): SQL {
  return sql`coalesce((select sum(r.pool_slots) from podline.task_runs r
                       where r.pool = ${pool} and r.state = ${state('running')} and r.lease_owner is not null), 0)`
}

/**
 * Wakes the workers of the pools whose task runs `rows` (a CTE with `pool`) moved out of `running`:
 * a worker that found a pool full waits for this rather than for its poll.
 */
export function notifyFreedPools(rows: SQL): SQL {
  return sql`select pg_notify(${POOL_CHANNEL}, pool) from (select distinct pool from ${rows} where pool is not null) freed`
}
