import { type SQL, sql } from 'drizzle-orm'
import { FAILED_TASK_STATES, OPEN_RUN_STATES, OPEN_TASK_STATES } from '../engine/states.js'
import { nextTaskState } from '../engine/task-state-machine.js'
import { decidePromotion, type Promotion } from '../engine/trigger-rules.js'
import type { Database, Executor } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { notifyTaskKeys, queuedAvailableAt } from './admit-tasks.js'
import { insertEvents, TASK_RUN } from './event-log.js'
import { CALLBACK_CHANNEL, QUEUE_CHANNEL, RUN_FINISHED_CHANNEL, state, states } from './sql-values.js'
import { type CountedRow, countEndedUpstreams, recountUpstreams } from './upstream-counts.js'

/**
 * After tasks of a run reach a terminal state (each passed once, by the transaction that ended it):
 * add them to their downstream tasks' upstream counts, promote each pending one whose trigger rule
 * is now decided (queued, skipped or upstream_failed), cascade through tasks that end without
 * running, then finalise the run when every task is terminal. Each round costs the downstream
 * count of the tasks it ended, not their siblings' (upstream-counts.ts). Runs inside the caller's
 * transaction. Returns whether anything was queued (the caller then NOTIFYs).
 */
export async function promoteDownstream(
  database: Database,
  tx: Executor,
  runId: string,
  finishedTasks: readonly string[],
  workerId: string | null,
  options: { runLocked?: boolean } = {},
): Promise<{ queued: number; runFinished: boolean }> {
  // Completions of sibling tasks commit concurrently; each must see the others' states, or two
  // transactions could each wait for the other and strand the downstream task. Locking the run row
  // serialises promotion per run, and each query below then reads what the previous holder committed.
  // NO KEY UPDATE, not UPDATE: the caller's XCom and event inserts already hold the run row FOR KEY
  // SHARE (their foreign keys); FOR UPDATE conflicts with that, so two sibling completions deadlocked.
  // finishAttempt takes the lock in its first statement (runLocked) to save a round trip.
  if (!options.runLocked) {
    await database.rows(sql`select 1 from podline.runs where id = ${runId}::uuid for no key update`, tx)
  }
  const ended = await countEndedUpstreams(database, tx, runId, finishedTasks)
  return promoteCounted(database, tx, runId, ended, workerId)
}

/**
 * promoteDownstream once the first round's counts are added already (`counted`: the rows that
 * adding them changed): the completion's own statement does it for its endings (finish-attempt.ts).
 */
export async function promoteCounted(
  database: Database,
  tx: Executor,
  runId: string,
  counted: readonly CountedRow[],
  workerId: string | null,
): Promise<{ queued: number; runFinished: boolean }> {
  const { queued, runFinished } = await decideRounds(database, tx, runId, counted, workerId)
  return { queued, runFinished }
}

/**
 * A running run with tasks pending and none queued or running cannot move by itself. The runner
 * keeps that from happening; a runner from before the upstream counts (migration 0011), still
 * finishing tasks during a rolling upgrade, does not keep the counts or the edges of the runs it
 * creates, and can leave such runs behind. The reconciler finds them (probes of task_runs_open_idx)
 * and calls this, holding the run: the run is recounted and its pending tasks decided, as though
 * their upstreams had just ended. Returns whether anything moved.
 */
export async function promoteStrandedRun(
  database: Database,
  tx: Executor,
  runId: string,
  workerId: string | null,
): Promise<boolean> {
  await recountUpstreams(database, tx, runId)
  const pending = await database.rows<CountedRow>(
    sql`select id::text as id, task, trigger_rule as "triggerRule", state, cardinality(needs) as total,
               upstreams_succeeded as success, upstreams_failed as failed, upstreams_skipped as skipped,
               upstreams_done as done
        from podline.task_runs
        where run_id = ${runId}::uuid and state = ${state('pending')} and map_index = ${NO_MAP_INDEX}
        order by id`,
    tx,
  )
  const { queued, runFinished, decided } = await decideRounds(database, tx, runId, pending, workerId)
  return queued > 0 || runFinished || decided > 0
}

/**
 * Decides the pending rows among `counted` (a round's downstream rows, with their counts), and
 * goes on through the tasks that end without running, round by round; then finalises the run.
 */
async function decideRounds(
  database: Database,
  tx: Executor,
  runId: string,
  counted: readonly CountedRow[],
  workerId: string | null,
): Promise<{ queued: number; runFinished: boolean; decided: number }> {
  let round = counted
  let queued = 0
  let decidedCount = 0
  // A pending downstream task still waiting, or one just queued, means the run cannot have ended.
  let unfinished = false
  while (round.length > 0) {
    const pending = round.filter((row) => row.state === 'pending')
    const decisions = pending.map((row) => ({ row, promotion: decidePromotion(row.triggerRule, row) }))
    if (decisions.some((d) => d.promotion === 'wait')) unfinished = true
    const decided = decisions.filter(
      (d): d is { row: CountedRow; promotion: Exclude<Promotion, 'wait'> } => d.promotion !== 'wait',
    )
    if (decided.length === 0) break
    const nextStates = decided.map((d) => nextTaskState('pending', { type: 'promote', to: d.promotion }))
    const queuedNow = nextStates.filter((s) => s === 'queued').length
    await database.rows(
      sql`
      with v as (
        select * from jsonb_to_recordset(${JSON.stringify(decided.map((d, i) => ({ id: d.row.id, state: nextStates[i] })))}::jsonb)
          as v(id bigint, state text)
      ), moved as (
        update podline.task_runs t
        set state = v.state,
            available_at = case when v.state = ${state('queued')} then ${queuedAvailableAt(sql`t.concurrency_key`)} else now() end,
            finished_at = case when v.state = ${state('queued')} then null else now() end,
            error = case when v.state = ${state('upstream_failed')} then 'an upstream task failed' else null end
        from v where t.id = v.id and t.state = ${state('pending')}
        returning t.run_id, t.task, t.state, t.attempt, t.version, t.pipeline, t.concurrency_key
      ), logged as (${insertEvents(sql`moved`, {
        ...TASK_RUN,
        fromState: state('pending'),
        toState: sql`state`,
        worker: workerId,
        message: sql`'trigger rule decided'`,
      })}), keys_notified as (${notifyTaskKeys(sql`(select * from moved where state = ${state('queued')})`)})
      select pg_notify(${QUEUE_CHANNEL}, version), (select count(*) from keys_notified) as keys_notified
      from moved where state = ${state('queued')} limit 1`,
      tx,
    )
    queued += queuedNow
    decidedCount += decided.length
    const ended = decided.filter((_, i) => nextStates[i] !== 'queued').map((d) => d.row.task)
    round = await countEndedUpstreams(database, tx, runId, ended)
  }
  const runFinished =
    queued > 0 || unfinished ? false : await finalizeRunIfDone(database, tx, runId, workerId)
  return { queued, runFinished, decided: decidedCount }
}

/** Ends the run when no task is left to run: failed if a leaf task failed, else success. */
export async function finalizeRunIfDone(
  database: Database,
  tx: Executor,
  runId: string,
  workerId: string | null,
): Promise<boolean> {
  return (await finalizeRunsIfDone(database, tx, [runId], workerId)) > 0
}

/**
 * finalizeRunIfDone for many runs in one statement (a batch of completions ends many one-task runs).
 * The caller holds the runs' locks. Returns how many ended.
 */
export async function finalizeRunsIfDone(
  database: Database,
  tx: Executor,
  runIds: readonly string[],
  workerId: string | null,
): Promise<number> {
  if (runIds.length === 0) return 0
  const ids = sql`array(select jsonb_array_elements_text(${JSON.stringify(runIds)}::jsonb)::uuid)`
  const [row] = await database.rows<{ finished: number }>(
    sql`
      with candidate as (
        select id from unnest(${ids}) as c(id)
        where not exists (select 1 from podline.task_runs
                          where run_id = c.id and state in ${states(...OPEN_TASK_STATES)})
      ), status as (
        select c.id as run_id, bool_or(t.is_leaf and t.state in ${states(...FAILED_TASK_STATES)}) as leaf_failed,
               string_agg(t.task || ': ' || coalesce(t.error, t.state), '; ')
                 filter (where t.state = ${state('failed')} and t.map_index = ${NO_MAP_INDEX}) as errors
        from candidate c left join podline.task_runs t on t.run_id = c.id
        group by c.id
      ), ${endRuns(sql.raw('status'), workerId)}
      select (select count(*) from ended)::int as finished, (select count(*) from run_notified) as n,
             (select count(*) from callbacks_notified) as callbacks_notified`,
    tx,
  )
  return row?.finished ?? 0
}

/**
 * The CTEs that end runs, from a relation of (run_id, leaf_failed, errors): each run still open
 * becomes failed (with the errors) or success, its event is recorded, the callback its pipeline has
 * for that end is queued (run_callbacks: in this statement, so a run never ends without it) and its
 * waiters are told (podline_run_finished). They end in \`ended\`, \`run_logged\`, \`callbacks_queued\`
 * and \`run_notified\` (the caller's final select counts \`callbacks_notified\` and \`run_notified\`: a
 * SELECT in a WITH runs only when read); finalizeRunsIfDone and the completion of a run's only task (finish-attempt.ts)
 * both use them.
 */
export function endRuns(status: SQL, workerId: string | null): SQL {
  return sql`ended as (
        update podline.runs r
        set state = case when s.leaf_failed then ${state('failed')} else ${state('success')} end, finished_at = now(),
            error = case when s.leaf_failed then s.errors else null end
        from ${status} s
        where r.id = s.run_id and r.state in ${states(...OPEN_RUN_STATES)}
        returning r.id, r.state, r.pipeline, r.version, r.callbacks
      ), run_logged as (${insertEvents(sql`ended`, {
        runId: sql`id`,
        fromState: state('running'),
        toState: sql`state`,
        worker: workerId,
      })}), callbacks_queued as (
        insert into podline.run_callbacks (run_id, pipeline, version, event, state)
        select id, pipeline, version, e.event, ${state('queued')}
        from ended, lateral (select case when state = ${state('failed')} then 'failure' else 'success' end as event) e
        where e.event = any(callbacks)
        on conflict (run_id, event, task, map_index, attempt) do nothing
        returning version
      ), callbacks_notified as (
        select pg_notify(${CALLBACK_CHANNEL}, v.version) from (select distinct version from callbacks_queued) v
      ), run_notified as (
        select pg_notify(${RUN_FINISHED_CHANNEL}, id::text) from ended
      )`
}
