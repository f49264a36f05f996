import { type SQL, sql } from 'drizzle-orm'
import { POOL_CHANNEL, state } from './sql-values.js'

/**
 * The slots the running task runs of `pool` take, as the statement's snapshot sees them: those
 * running under a lease (a mapped task's expanded row runs without one, and takes none), all of them
 * (`podline pools` shows it) or those of one part (what the claim of that part admits from); a
 * probe of task_runs_pool_running_idx, a few rows.
 */
export function runningSlots(pool: SQL, part?: SQL): SQL {
  const inPart = part ? sql`and r.pool_part = ${part}` : sql``
  return sql`coalesce((select sum(r.pool_slots) from podline.task_runs r
                       where r.pool = ${pool} and r.state = ${state('running')} and r.lease_owner is not null
                         ${inPart}), 0)`
}

/** Below this many slots per part a pool is not split: a small pool is one part, as exact as one row. */
const PART_SLOTS = 256
/** At most this many parts: enough for the claims of many workers not to meet on one row. */
const MAX_PARTS = 8

/**
 * How many parts a pool of `slots` is split into (pool_parts): one below 512 slots, then one per
 * 256 slots, at most 8. Each part is claimed under its own row lock, so the claims of a large pool
 * proceed side by side instead of taking turns; a task run takes all its slots from one part, so
 * a part is never smaller than 256 slots. The one home of the rule: set-pool.ts keeps the rows,
 * the claim counts with it.
 */
export function partsOf(slots: SQL): SQL {
  return sql`greatest(1, least(${sql.raw(String(MAX_PARTS))}, ${slots} / ${sql.raw(String(PART_SLOTS))}))`
}

/** The slots of part `part` of a pool of `slots`: an even share, the remainder to the first parts. */
export function partSlots(slots: SQL, part: SQL): SQL {
  return sql`(${slots} / ${partsOf(slots)} + case when ${part} < ${slots} % ${partsOf(slots)} then 1 else 0 end)`
}

/**
 * Wakes the workers of the pools whose task runs `rows` (a CTE with `pool`) moved out of `running`:
 * a worker that found a pool full waits for this rather than for its poll.
 */
export function notifyFreedPools(rows: SQL): SQL {
  return sql`select pg_notify(${POOL_CHANNEL}, pool) from (select distinct pool from ${rows} where pool is not null) freed`
}
