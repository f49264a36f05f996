import { sql } from 'drizzle-orm'
import type { Database, Executor } from '../store/database.js'
import { insertEvents, TASK_RUN } from './event-log.js'
import { QUEUE_CHANNEL, state } from './sql-values.js'

/**
 * maxActiveRuns: starts queued runs of a pipeline, oldest first, while fewer than the run's limit are
 * running. A limited run is created with its root tasks pending, so the claim cannot start it; this
 * operation starts the run and queues its roots.
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
      ), waiting as (
        select id, max_active_runs, row_number() over (order by created_at, id) as place
        from podline.runs
        where pipeline = ${pipeline} and state = ${state('queued')} and max_active_runs is not null
      ), chosen as (
        select w.id from waiting w, running where running.n + w.place <= w.max_active_runs
      ), started as (
        update podline.runs r set state = ${state('running')}, started_at = now()
        from chosen where r.id = chosen.id and r.state = ${state('queued')}
        returning r.id
      ), started_logged as (${insertEvents(sql`started`, {
        runId: sql`id`,
        fromState: state('queued'),
        toState: state('running'),
        message: sql`'started within maxActiveRuns'`,
      })}), roots as (
        update podline.task_runs t set state = ${state('queued')}, available_at = now()
        from started where t.run_id = started.id and t.state = ${state('pending')} and cardinality(t.needs) = 0
        returning t.run_id, t.task, t.attempt, t.version
      ), roots_logged as (${insertEvents(sql`roots`, {
        ...TASK_RUN,
        fromState: state('pending'),
        toState: state('queued'),
      })}), notified as (
        select pg_notify(${QUEUE_CHANNEL}, v.version) from (select distinct version from roots) v
      )
      select (select count(*)::int from started) as admitted,
             (select count(*)::int from waiting) - (select count(*)::int from started) as waiting,
             (select count(*) from notified) as notified`,
    tx,
  )
  return result?.waiting ?? 0
}
