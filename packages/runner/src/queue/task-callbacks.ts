import type { CallbackEvent } from '@podline/sdk'
import { type SQL, sql } from 'drizzle-orm'
import { CALLBACK_CHANNEL, state } from './sql-values.js'

const event = (name: CallbackEvent) => sql.raw(`'${name}'`)

/**
 * The callbacks that answer task runs' attempts, queued by the statement that stores their ends, so an
 * attempt never ends without them (and, racing, never gets two: the unique index): a task's own
 * (`task_failure`, `task_success`, `task_retry`, when its task run lists the event, copied from the
 * plan) and the pipeline's `onRetry` (`retry`, when the run lists it). Each is a run_callbacks row
 * with the task run and the attempt, claimed and run like a run's callback (run-callbacks.ts).
 *
 * `ended` names a relation of the ended task runs with run_id, task, map_index, attempt, state,
 * error, version and callbacks. Returns two CTEs, `task_callbacks_queued` and
 * `task_callbacks_notified`; the statement's final select must read the second (a CTE nobody reads
 * is not run, and its NOTIFY would not be sent).
 */
export function queueTaskCallbacks(ended: SQL): SQL {
  return sql`task_callbacks_queued as (
      insert into podline.run_callbacks (run_id, pipeline, version, event, state, task, map_index, attempt, task_error)
      select e.run_id, r.pipeline, e.version, ev.event, ${state('queued')}, e.task, e.map_index, e.attempt, e.error
      from ${ended} e
      join podline.runs r on r.id = e.run_id
      cross join lateral (values
        (case e.state when ${state('failed')} then ${event('task_failure')}
                      when ${state('success')} then ${event('task_success')}
                      when ${state('up_for_retry')} then ${event('task_retry')} end, e.callbacks),
        (case when e.state = ${state('up_for_retry')} then ${event('retry')} end, r.callbacks)
      ) as ev(event, listed)
      -- Most endings have no callback: they are left out before the run is read.
      where (e.callbacks is not null or e.state = ${state('up_for_retry')}) and ev.event = any(ev.listed)
      on conflict (run_id, event, task, map_index, attempt) do nothing
      returning version
    ), task_callbacks_notified as (
      select pg_notify(${CALLBACK_CHANNEL}, v.version) from (select distinct version from task_callbacks_queued) v
    )`
}
