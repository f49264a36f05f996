import { sql } from 'drizzle-orm'
import { CLAIMABLE_TASK_STATES, OPEN_RUN_STATES, TERMINAL_TASK_STATES } from '../engine/states.js'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { insertEvents, TASK_RUN_OR_ITEM } from './event-log.js'
import { NO_LEASE } from './lease-columns.js'
import { settleMappedItems } from './mapped-tasks.js'
import { finalizeRunIfDone, promoteDownstream, promoteStrandedRun } from './promote-downstream.js'
import { QUEUE_CHANNEL, state, states } from './sql-values.js'
import { queueTaskCallbacks } from './task-callbacks.js'
import { pruneWorkers } from './workers.js'

/**
 * A task run whose lease expired this many times (its worker died each time, or lost the database)
 * fails instead of looping. These takeovers are counted apart from the user's `retries`: a dead
 * worker is not the task's failed attempt, but a task that kills every worker it runs on must end.
 */
export const MAX_LEASE_EXPIRIES = 3
/**
 * The same for a pod task, higher: its work runs in the pod, not in the worker, and one worker
 * supervises hundreds of pods (podConcurrency), so each worker death expires all their leases at
 * once; the pod goes on and its takeover attaches to it. Still bounded, for a pod whose supervision
 * itself brings the worker down.
 */
export const MAX_POD_LEASE_EXPIRIES = 10
/**
 * A task run claimed ahead into a worker's local queue that never started there (started_at null)
 * costs no lease expiry when that worker dies: it did nothing. It goes back unclaimed, its attempt
 * number undone. Bounded all the same, by its claims that began no attempt, should a task start and
 * bring its worker down before the start is recorded (the next claim records it).
 */
export const MAX_UNSTARTED_RETURNS = 20

export interface ReconcileReport {
  requeued: number
  failed: number
  finalized: number
  /** Stranded runs whose pending tasks were decided again (promoteStrandedRun). */
  promoted: number
}

/*
 * The reconciler's periodic sweep, safe to run from every worker at once: a transaction-scoped
 * advisory lock lets one sweep proceed and the others skip. It hands the attempts of dead workers
 * (expired leases) back to the queue as takeovers (the next claim continues the same attempt),
 * fails a task that has killed its worker MAX_LEASE_EXPIRIES times, decides the pending tasks of
 * runs that cannot move by themselves, and finalises runs whose last transition was lost. Like every
 * writer, it locks the runs (in id order, all of them in one statement) before their task runs; the
 * runs it looks at afterwards (stranded, stuck) it takes with SKIP LOCKED, never waiting while it
 * holds the first ones.
 */
export async function reconcile(database: Database, workerId: string | null): Promise<ReconcileReport> {
  return database.db.transaction(async (tx) => {
    const [lock] = await database.rows<{ ok: boolean }>(
      sql`select pg_try_advisory_xact_lock(hashtext('podline.reconcile')) as ok`,
      tx,
    )
    if (!lock?.ok) return { requeued: 0, failed: 0, finalized: 0, promoted: 0 }
    const lockedRuns = await database.rows<{ id: string }>(
      sql`select id from podline.runs where id in (
            select run_id from podline.task_runs where state = ${state('running')} and lease_expires_at < now())
          order by id for no key update`,
      tx,
    )
    const limit = sql`(case when kind = 'pod' then ${MAX_POD_LEASE_EXPIRIES}::int else ${MAX_LEASE_EXPIRIES}::int end)`
    // Claimed ahead and never started: returned as if unclaimed (claims - attempt - lease_expiries
    // counts the claims that began nothing).
    const unstarted = sql`(started_at is null and claims - attempt - lease_expiries < ${MAX_UNSTARTED_RETURNS})`
    const expired =
      lockedRuns.length === 0
        ? []
        : await database.rows<{
            runId: string
            task: string
            mapIndex: number
            state: string
            version: string
          }>(
            sql`
        with expired as (
          update podline.task_runs
          set state = case when not ${unstarted} and lease_expiries + 1 >= ${limit} then ${state('failed')} else ${state('queued')} end,
              taken_over = not ${unstarted} and lease_expiries + 1 < ${limit},
              attempt = case when ${unstarted} then attempt - 1 else attempt end,
              lease_expiries = case when ${unstarted} then lease_expiries else lease_expiries + 1 end,
              available_at = now(),
              error = case when ${unstarted}
                then 'the worker ' || lease_owner || ' stopped renewing its lease before it started this task; another worker takes it'
                when lease_expiries + 1 >= ${limit}
                then 'the task keeps killing its worker: the worker running it stopped renewing its lease '
                     || ${limit} || ' times (the last, ' || lease_owner || ', during attempt ' || attempt
                     || '); look for a crash, a process.exit() or running out of memory in the task'
                else 'the worker ' || lease_owner || ' stopped renewing its lease (it died or lost the database) during attempt '
                     || attempt || '; another worker takes it over' end,
              finished_at = case when not ${unstarted} and lease_expiries + 1 >= ${limit} then now() else null end,
              timeout_at = case when ${unstarted} or lease_expiries + 1 >= ${limit} then null else timeout_at end,
              ${NO_LEASE}
          where state = ${state('running')} and lease_expires_at < now()
            and run_id = any(array(select jsonb_array_elements_text(${JSON.stringify(lockedRuns.map((r) => r.id))}::jsonb)::uuid))
          returning run_id, task, map_index, attempt, state, error, version, callbacks
        ), ${queueTaskCallbacks(sql`expired`)}, logged as (${insertEvents(sql`expired`, {
          ...TASK_RUN_OR_ITEM,
          fromState: state('running'),
          toState: sql`state`,
          worker: workerId,
          message: sql`error`,
        })})
        select run_id as "runId", task, map_index as "mapIndex", state, version,
               (select count(*) from task_callbacks_notified) as "callbacksNotified"
        from expired`,
            tx,
          )
    const failedByRun = new Map<string, string[]>()
    for (const e of expired)
      if (e.state === 'failed' && e.mapIndex === NO_MAP_INDEX)
        failedByRun.set(e.runId, [...(failedByRun.get(e.runId) ?? []), e.task])
    for (const [runId, tasks] of failedByRun) await promoteDownstream(database, tx, runId, tasks, workerId)
    // A failed item settles its mapped task (which may end it, and promote its downstream tasks).
    for (const e of expired)
      if (e.state === 'failed' && e.mapIndex !== NO_MAP_INDEX)
        await settleMappedItems(database, tx, e.runId, e.task, workerId)
    for (const version of new Set(expired.filter((e) => e.state === 'queued').map((e) => e.version)))
      await database.rows(sql`select pg_notify(${QUEUE_CHANNEL}, ${version})`, tx)
    // Runs that cannot move by themselves: see promoteStrandedRun. Only a runner from before the
    // upstream counts leaves them, so this finds none once every worker is current.
    const stranded = await database.rows<{ id: string }>(
      sql`select r.id from podline.runs r where r.state = ${state('running')}
            and exists (select 1 from podline.task_runs t where t.run_id = r.id and t.state = ${state('pending')}
                        and t.map_index = ${NO_MAP_INDEX})
            and not exists (select 1 from podline.task_runs t where t.run_id = r.id
                            and t.state in ${states(...CLAIMABLE_TASK_STATES, 'running')})
          order by r.id limit 100
          for no key update of r skip locked`,
      tx,
    )
    let promoted = 0
    for (const run of stranded) if (await promoteStrandedRun(database, tx, run.id, workerId)) promoted++
    // Locked as they are found, and never waited on: this transaction holds runs already, so waiting
    // here for one a completion batch holds (which may wait for one of ours) could close a cycle. A
    // run held by someone else is being moved by them.
    const stuck = await database.rows<{ id: string }>(
      sql`select r.id from podline.runs r where r.state in ${states(...OPEN_RUN_STATES)}
          and not exists (select 1 from podline.task_runs t where t.run_id = r.id
                          and t.state not in ${states(...TERMINAL_TASK_STATES)})
          order by r.id limit 100
          for no key update of r skip locked`,
      tx,
    )
    let finalized = 0
    for (const run of stuck) if (await finalizeRunIfDone(database, tx, run.id, workerId)) finalized++
    await pruneWorkers(database, tx)
    const failed = expired.filter((e) => e.state === 'failed').length
    return { requeued: expired.length - failed, failed, finalized, promoted }
  })
}
