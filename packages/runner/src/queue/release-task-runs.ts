import { type SQL, sql } from 'drizzle-orm'
import type { Database, Executor } from '../store/database.js'
import { bigintArray } from '../store/sql-arrays.js'
import type { TaskRunId } from './claim-task-runs.js'
import { insertEvents, TASK_RUN_OR_ITEM } from './event-log.js'
import { NO_LEASE } from './lease-columns.js'
import { QUEUE_CHANNEL, state } from './sql-values.js'

/**
 * Hands task runs back to the queue when a draining worker gives up on them, so nobody waits for a
 * lease to expire. Not the task's failure: the attempt is taken over (same number, same pod, same
 * deadline) and spends neither the retries nor the lease-expiry budget.
 */
export async function releaseTaskRuns(
  database: Database,
  workerId: string,
  ids: readonly TaskRunId[],
): Promise<void> {
  if (ids.length === 0) return
  await database.rows(sql`
    with mine as materialized (
      select id, run_id from podline.task_runs
      where id = any(${bigintArray(ids)}) and lease_owner = ${workerId} and state = ${state('running')}
    ), ${runsFirst(sql`mine`)}, released as (
      update podline.task_runs t
      set state = ${state('queued')}, taken_over = true, ${NO_LEASE}, available_at = now()
      from mine
      where t.id = mine.id and t.lease_owner = ${workerId} and t.state = ${state('running')}
        and t.run_id = any(array(select id from locked))
      returning t.run_id, t.task, t.map_index, t.attempt, t.version
    ), logged as (${insertEvents(sql`released`, {
      ...TASK_RUN_OR_ITEM,
      fromState: state('running'),
      toState: state('queued'),
      worker: workerId,
      message: sql`'released by a draining worker; the next claim continues this attempt'`,
    })})
    select pg_notify(${QUEUE_CHANNEL}, version) from (select distinct version from released) v`)
}

/**
 * Returns task runs a worker claimed ahead (its local queue) and never started: the claim is undone
 * as if it had not happened, so the attempt number and the start are what the next claim makes
 * them. A claim that continued a taken-over attempt is handed back as one again. The claim count
 * stays raised: it is the fence, and must never repeat.
 */
export async function returnUnstarted(
  database: Database,
  workerId: string,
  claims: ReadonlyArray<{ id: TaskRunId; resumed: boolean }>,
  executor?: Executor,
): Promise<void> {
  if (claims.length === 0) return
  await database.rows(
    sql`
    with v as materialized (
      select v.*, t.run_id from jsonb_to_recordset(${JSON.stringify(claims)}::jsonb) as v(id bigint, resumed boolean)
      join podline.task_runs t on t.id = v.id
    ), ${runsFirst(sql`v`)}, returned as (
      update podline.task_runs t
      set state = ${state('queued')}, ${NO_LEASE}, available_at = now(),
          taken_over = v.resumed,
          attempt = case when v.resumed then t.attempt else t.attempt - 1 end,
          started_at = case when v.resumed then t.started_at end,
          timeout_at = case when v.resumed then t.timeout_at end
      from v
      where t.id = v.id and t.lease_owner = ${workerId} and t.state = ${state('running')}
        and t.run_id = any(array(select id from locked))
      returning t.run_id, t.task, t.map_index, t.attempt, t.version
    ), logged as (${insertEvents(sql`returned`, {
      ...TASK_RUN_OR_ITEM,
      fromState: state('running'),
      toState: state('queued'),
      worker: workerId,
      message: sql`'returned unstarted from the worker''s local queue'`,
    })})
    select pg_notify(${QUEUE_CHANNEL}, version) from (select distinct version from returned) v`,
    executor,
  )
}

/**
 * A CTE \`locked\` that locks the runs of \`rows\` (a CTE with run_id) in id order. Read whole as an
 * array by the UPDATE that follows, it takes every run before the first task run, as every writer
 * does: handing back rows in the order they came while a cancel took the same run's rows in its own
 * order could deadlock.
 */
function runsFirst(rows: SQL): SQL {
  return sql`locked as materialized (
      select id from podline.runs where id = any(array(select distinct run_id from ${rows}))
      order by id for no key update
    )`
}
