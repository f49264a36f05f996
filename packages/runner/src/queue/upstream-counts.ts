import type { TriggerRule } from '@podline/sdk'
import { type SQL, sql } from 'drizzle-orm'
import { FAILED_TASK_STATES, type TaskState, TERMINAL_TASK_STATES } from '../engine/states.js'
import type { UpstreamCounts } from '../engine/trigger-rules.js'
import type { Database, Executor } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { textArray } from '../store/sql-arrays.js'
import type { TaskRunId } from './claim-task-runs.js'
import { state, states } from './sql-values.js'

/*
 * Each task's own row keeps how its upstreams have ended (task_runs.upstreams_*), so deciding its
 * trigger rule reads one row. Two operations keep the counts true: a task that ends is added to its
 * downstream rows' counts (countEndedUpstreams: what promotion, cancel, the params check and a
 * killed local run's cleanup call for every task they end), and a run whose tasks go back out of a
 * terminal state is recounted from its tasks' states (recountUpstreams: retry, and the reconciler
 * for a run stranded by a runner from before the counts). Counting per ending costs the task's
 * downstream count. Re-reading every upstream of a pending task at each ending, as promotion once
 * did, made a fan-in quadratic: through the queue's API on a busy 2-core machine, an ending of a
 * 1 → 10,000 → 1 run took 1,061 ms that way and 4.2 ms this way (1 → 1,000 → 1: 19.1 ms, 2.2 ms).
 */

/** The counts of a set of upstream rows (`column`: their state), in the order of the counter columns. */
const countsOf = (column: SQL) => sql`
  count(*) filter (where ${column} = ${state('success')})::int,
  count(*) filter (where ${column} in ${states(...FAILED_TASK_STATES)})::int,
  count(*) filter (where ${column} = ${state('skipped')})::int,
  count(*) filter (where ${column} in ${states(...TERMINAL_TASK_STATES)})::int`

/** A downstream row whose counts an ending changed, with its counts after it. */
export interface CountedRow extends UpstreamCounts {
  id: TaskRunId
  task: string
  triggerRule: TriggerRule
  state: TaskState
}

/**
 * Adds tasks of a run that have just ended (their own rows; each exactly once, in the transaction
 * that ended it) to the counts of the tasks that need them: one statement for all of them, a lookup
 * by key per task and per downstream task. Returns the downstream rows it changed, with their new
 * counts. The caller holds the run row, as every writer of task states.
 */
export async function countEndedUpstreams(
  database: Database,
  tx: Executor,
  runId: string,
  ended: readonly string[],
): Promise<CountedRow[]> {
  if (ended.length === 0) return []
  return database.rows<CountedRow>(
    sql`
      with edges as (
        select u.run_id, u.state, d.task
        from podline.task_runs u cross join unnest(u.downstream) as d(task)
        where u.run_id = ${runId}::uuid and u.task = any(${textArray(ended)}) and u.map_index = ${NO_MAP_INDEX}
      ), ${countEdges(sql`true`)}
      select id, task, "triggerRule", state, total, success, failed, skipped, done from counted_rows order by id`,
    tx,
  )
}

/**
 * The CTEs that add a CTE \`edges\` (run_id, state: the ended upstream's, task: the downstream's
 * name) to the downstream rows' counts, while \`when\` holds; they end in \`counted_rows\`, the rows
 * with their new counts (CountedRow, and their run as "runId"). Shared by countEndedUpstreams and the
 * completion's own statement (finish-attempt.ts), which counts its endings' first round in passing.
 */
export function countEdges(when: SQL): SQL {
  return sql`added as (
        -- Each downstream row by its whole key, a lookup of its own. Written as a join, a planner
        -- without statistics on a fresh run took the run's rows for one and read all of them at
        -- every ending (11 ms per ending of a 1 → 10,000 → 1 run, all of it in that scan).
        select (select t.id from podline.task_runs t
                where t.run_id = e.run_id and t.task = e.task and t.map_index = ${NO_MAP_INDEX}),
               ${countsOf(sql`e.state`)}
        from edges e where ${when} group by e.run_id, e.task
      ), locked_downstream as (
        -- A downstream task may be running already (one_success, one_failed), so its row is one
        -- that heartbeats write too; locking in id order, as theirs by primary key, keeps two such
        -- rows from being taken in opposite orders (a deadlock).
        select t.id from podline.task_runs t
        where t.id in (select a.id from added a) order by t.id for no key update
      ), counted as (
        update podline.task_runs t
        set upstreams_succeeded = t.upstreams_succeeded + a.succeeded,
            upstreams_failed = t.upstreams_failed + a.failed,
            upstreams_skipped = t.upstreams_skipped + a.skipped,
            upstreams_done = t.upstreams_done + a.done
        from added as a(id, succeeded, failed, skipped, done), locked_downstream l
        where t.id = a.id and l.id = a.id
        returning t.id, t.run_id, t.task, t.trigger_rule, t.state, cardinality(t.needs) as total,
                  t.upstreams_succeeded, t.upstreams_failed, t.upstreams_skipped, t.upstreams_done
      ), counted_rows as (
        select id::text as id, run_id::text as "runId", task, trigger_rule as "triggerRule", state,
               total::int as total, upstreams_succeeded as success, upstreams_failed as failed,
               upstreams_skipped as skipped, upstreams_done as done
        from counted
      )`
}

/**
 * Sets every count of a run from its tasks' states as they stand, and its edges from its needs:
 * after tasks went back out of a terminal state (retry), which no ending accounts for, and for a
 * run that a runner from before the counts advanced (the reconciler, promoteStrandedRun). Two
 * statements, each reading each edge once.
 */
export async function recountUpstreams(database: Database, tx: Executor, runId: string): Promise<void> {
  await database.rows(
    sql`
      with reversed as (
        select (select u.id from podline.task_runs u
                where u.run_id = ${runId}::uuid and u.task = n.task and u.map_index = ${NO_MAP_INDEX}) as id,
               array_agg(d.task order by d.id) as downstream
        from podline.task_runs d cross join unnest(d.needs) as n(task)
        where d.run_id = ${runId}::uuid and d.map_index = ${NO_MAP_INDEX}
        group by n.task
      )
      update podline.task_runs t set downstream = r.downstream
      from reversed r where t.id = r.id and t.downstream is distinct from r.downstream`,
    tx,
  )
  await database.rows(
    sql`
      with edges as (
        -- Each upstream by its whole key, as in countEndedUpstreams.
        select d.id, (select u.state from podline.task_runs u
                      where u.run_id = d.run_id and u.task = n.task and u.map_index = ${NO_MAP_INDEX}) as state
        from podline.task_runs d cross join unnest(d.needs) as n(task)
        where d.run_id = ${runId}::uuid and d.map_index = ${NO_MAP_INDEX}
      ), counts as (
        select id, ${countsOf(sql`state`)} from edges group by id
      )
      update podline.task_runs t
      set upstreams_succeeded = c.succeeded, upstreams_failed = c.failed, upstreams_skipped = c.skipped,
          upstreams_done = c.done
      from counts as c(id, succeeded, failed, skipped, done)
      where t.id = c.id
        and (t.upstreams_succeeded, t.upstreams_failed, t.upstreams_skipped, t.upstreams_done)
            is distinct from (c.succeeded, c.failed, c.skipped, c.done)`,
    tx,
  )
}
