import { sql } from 'drizzle-orm'
import type { Database, Executor } from '../store/database.js'
import { notifyTaskKeys, queuedAvailableAt } from './admit-tasks.js'
import { insertEvents, TASK_RUN } from './event-log.js'
import { QUEUE_CHANNEL, state } from './sql-values.js'

/**
 * maxActiveRuns and concurrency keys: starts queued runs of a pipeline, oldest first, while the
 * limits allow. A limited run is created with its root tasks pending, so the claim cannot start it;
 * this operation starts the run and queues its roots.
 *   - maxActiveRuns: fewer than the run's limit of the pipeline's runs are running;
 *   - a concurrency key: fewer than the key's limit of the runs with the same key are running. A
 *     keyed run waits until its key is known (concurrency-keys.ts); runs of other keys pass it.
 * With both, a run starts when its key allows it and it is among the oldest the pipeline's limit
 * allows of those its keys allow: the order the limits would admit them one at a time.
 *
 * Why not in the claim: the claim is one statement, and under READ COMMITTED its snapshot is taken
 * before any lock it could take, so two concurrent claims would each count the other's run as not
 * yet running and both start one. Here a per-pipeline advisory lock is taken first, by its own
 * statement, and the count that follows reads a snapshot taken after the previous holder committed.
 * The claim stays as it was (claim-plan.test.ts), and unlimited pipelines never come here.
 *
 * Called in the transaction that creates a limited run, and by every worker's scheduler pass for the
 * limited pipelines it serves (a slot frees when a run ends). Returns how many runs are still waiting.
 */
export async function admitRuns(database: Database, tx: Executor, pipeline: string): Promise<number> {
  await database.rows(
    sql`select pg_advisory_xact_lock(hashtext('podline.admit-runs'), hashtext(${pipeline}))`,
    tx,
  )
  const [result] = await database.rows<{ admitted: number; waiting: number }>(
    sql`
      with running as (
        select count(*)::int as n from podline.runs where pipeline = ${pipeline} and state = ${state('running')}
      ), running_by_key as (
        select concurrency_key as key, count(*)::int as n from podline.runs
        where pipeline = ${pipeline} and state = ${state('running')} and concurrency_key is not null
        group by concurrency_key
      ), waiting as (
        select id, max_active_runs, concurrency_limit, concurrency_key, task_values_pending, created_at,
               row_number() over (partition by concurrency_key order by created_at, id) as key_place
        from podline.runs
        where pipeline = ${pipeline} and state = ${state('queued')}
          and (max_active_runs is not null or concurrency_limit is not null or task_values_pending is not null)
      ), key_allows as (
        select w.* from waiting w left join running_by_key k on k.key = w.concurrency_key
        where w.task_values_pending is not true and (w.concurrency_limit is null
           or (w.concurrency_key is not null and coalesce(k.n, 0) + w.key_place <= w.concurrency_limit))
      ), placed as (
        select id, max_active_runs, row_number() over (order by created_at, id) as place from key_allows
      ), chosen as (
        select p.id from placed p, running where p.max_active_runs is null or running.n + p.place <= p.max_active_runs
      ), started as (
        update podline.runs r set state = ${state('running')}, started_at = now()
        from chosen where r.id = chosen.id and r.state = ${state('queued')}
        returning r.id, r.concurrency_key
      ), started_logged as (${insertEvents(sql`started`, {
        runId: sql`id`,
        fromState: state('queued'),
        toState: state('running'),
        message: sql`case when concurrency_key is null then 'started within maxActiveRuns'
          else 'started: concurrency key "' || concurrency_key || '" had a free slot' end`,
      })}), roots as (
        update podline.task_runs t set state = ${state('queued')}, available_at = ${queuedAvailableAt(sql`t.concurrency_key`)}
        from started where t.run_id = started.id and t.state = ${state('pending')} and cardinality(t.needs) = 0
        returning t.run_id, t.task, t.attempt, t.version, t.pipeline, t.concurrency_key
      ), roots_logged as (${insertEvents(sql`roots`, {
        ...TASK_RUN,
        fromState: state('pending'),
        toState: state('queued'),
      })}), notified as (
        select pg_notify(${QUEUE_CHANNEL}, v.version) from (select distinct version from roots) v
      ), keys_notified as (${notifyTaskKeys(sql`roots`)})
      select (select count(*)::int from started) as admitted,
             (select count(*)::int from waiting) - (select count(*)::int from started) as waiting,
             (select count(*) from notified) as notified, (select count(*) from keys_notified) as keys_notified`,
    tx,
  )
  return result?.waiting ?? 0
}
