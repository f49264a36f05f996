import { sql } from 'drizzle-orm'
import { FINISHED_RUN_STATES, OPEN_TASK_STATES } from '../engine/states.js'
import type { Database } from '../store/database.js'
import { pruneAssetEvents } from './asset-events.js'
import { states } from './sql-values.js'
import { deleteExpiredCacheEntries } from './task-cache.js'

/** Runs deleted per transaction: small enough that a batch holds its locks briefly. */
export const PRUNE_BATCH_RUNS = 500

export interface PruneOptions {
  /** Runs that finished longer ago than this (database time), in milliseconds, are deleted. */
  olderThanMs: number
  /** Runs per transaction. Default PRUNE_BATCH_RUNS. */
  batchRuns?: number
  /** Stop after this many batches (the worker prunes one batch per sweep). Default: until none is left. */
  maxBatches?: number
  /** Called with each batch's runs once it is committed: their objects in the XCom store go then. */
  onPruned?: (runIds: readonly string[]) => Promise<void>
}

/**
 * Retention: deletes runs that finished more than `olderThanMs` ago, in batches of bounded size,
 * one transaction each. Their task runs, XComs, events and logs go with them (every table's
 * foreign key to runs cascades). A live run is never touched: only a run in a finished state is
 * taken, locked first (runs before their task runs, as every writer does) and skipped when another
 * transaction holds it, such as a `podline retry` that is reopening it; and a run with a task run
 * still open (a cancelled run whose task is still winding down) waits for a later sweep. Pruning
 * never waits on a lock: the runs, then their task runs and XComs, are taken with SKIP LOCKED, and a
 * run with a row held elsewhere is left for a later sweep (events and log lines are only ever
 * inserted, so nobody holds theirs). Safe to run from many workers at once: SKIP LOCKED keeps their
 * batches apart. Returns the runs deleted.
 */
export async function pruneFinishedRuns(database: Database, options: PruneOptions): Promise<number> {
  const { olderThanMs, batchRuns = PRUNE_BATCH_RUNS, maxBatches = Number.POSITIVE_INFINITY } = options
  if (!(Number.isFinite(olderThanMs) && olderThanMs >= 0))
    throw new RangeError(`olderThanMs must be a non-negative number of milliseconds, not ${olderThanMs}`)
  let deleted = 0
  // Expired cache entries go first: the objects they kept become the orphan collection's.
  await deleteExpiredCacheEntries(database)
  for (let batch = 0; batch < maxBatches; batch++) {
    const rows = await database.rows<{ id: string }>(sql`
      with oldest as (
        select r.id from podline.runs r
        where r.state in ${states(...FINISHED_RUN_STATES)}
          and r.finished_at < now() - ${olderThanMs} * interval '1 millisecond'
          and not exists (select 1 from podline.task_runs t
                          where t.run_id = r.id and t.state in ${states(...OPEN_TASK_STATES)})
        order by r.finished_at
        limit ${batchRuns}
      ), doomed as materialized (
        -- The state again, under the lock: a retry that committed since this statement began has
        -- made the run running, and FOR UPDATE re-reads the row's latest version against it.
        select r.id from podline.runs r
        where r.id in (select id from oldest) and r.state in ${states(...FINISHED_RUN_STATES)}
        order by r.id
        for update skip locked
      ), tasks as materialized (
        -- What the delete takes with the runs, taken after every run (read whole, as an array) and
        -- never waited on: an ended task run's row can still be locked for an instant by a
        -- statement that read it running (a heartbeat, a claim), and a prune that waited for such a
        -- row while it held runs deadlocked with a heartbeat waiting for a row the prune had taken.
        select t.run_id from podline.task_runs t
        where t.run_id = any(array(select id from doomed))
        order by t.id
        for update skip locked
      ), outputs as materialized (
        select x.run_id from podline.xcoms x
        where x.run_id = any(array(select id from doomed))
        for update skip locked
      ), busy as (
        -- The runs with a row the statement saw but could not take: counted, not matched row by
        -- row, so that a batch of wide runs costs one pass.
        select run_id from (
          select run_id, count(*) as n from podline.task_runs
          where run_id = any(array(select id from doomed)) group by run_id
          union all
          select run_id, -count(*) from tasks group by run_id
          union all
          select run_id, count(*) from podline.xcoms
          where run_id = any(array(select id from doomed)) group by run_id
          union all
          select run_id, -count(*) from outputs group by run_id
        ) seen group by run_id having sum(n) <> 0
      )
      -- A run with a row someone else holds waits for a later sweep.
      delete from podline.runs r
      where r.id = any(array(select id from doomed)) and r.id not in (select run_id from busy)
      returning r.id`)
    deleted += rows.length
    if (rows.length > 0) await options.onPruned?.(rows.map((r) => r.id))
    // Not `< batchRuns`: rows another pruner holds are skipped, and the batch after may have more.
    if (rows.length === 0) break
  }
  // Asset events their runs no longer need: after the runs, which hold them until they go.
  await pruneAssetEvents(database, olderThanMs)
  return deleted
}

/**
 * Batches per sweep of a worker's reconcile timer: each batch its own short transaction, and enough
 * of them that retention keeps up with 1,000 finished runs a second at the default 5 s sweep.
 */
export const PRUNE_SWEEP_BATCHES = 10

/** One sweep of continuous retention (a worker with PODLINE_PRUNE_OLDER_THAN): returns the runs deleted. */
export function pruneSweep(
  database: Database,
  olderThanMs: number,
  onPruned?: PruneOptions['onPruned'],
): Promise<number> {
  return pruneFinishedRuns(database, {
    olderThanMs,
    maxBatches: PRUNE_SWEEP_BATCHES,
    ...(onPruned ? { onPruned } : {}),
  })
}
