import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { insertEvents, TASK_RUN_OR_ITEM } from './event-log.js'
import { NO_LEASE } from './lease-columns.js'
import { state, states } from './sql-values.js'
import { countEndedUpstreams } from './upstream-counts.js'

/**
 * Fails a run whose only worker is gone for good (a local `podline run` that was killed), with the
 * same transitions as a worker that died for good: a running task fails, the others still open are
 * cancelled, the run fails, all with `message`. Returns whether the run was still open.
 */
export async function failAbandonedRun(database: Database, runId: string, message: string): Promise<boolean> {
  return database.db.transaction(async (tx) => {
    const [row] = await database.rows<{ failed: boolean; ended: string[] }>(
      sql`
        with run as (
          update podline.runs set state = ${state('failed')}, finished_at = now(), error = ${message}
          where id = ${runId}::uuid and state in ${states('queued', 'running')}
          returning id, pipeline, version, callbacks
        ), callbacks_queued as (
          insert into podline.run_callbacks (run_id, pipeline, version, event, state)
          select id, pipeline, version, 'failure', ${state('queued')} from run where 'failure' = any(callbacks)
          on conflict (run_id, event, task, map_index, attempt) do nothing
        ), tasks as (
          update podline.task_runs t
          set state = case when old.state = ${state('running')} then ${state('failed')} else ${state('cancelled')} end,
              finished_at = now(), ${NO_LEASE}, error = ${message}
          from podline.task_runs old
          where t.id = old.id and t.run_id in (select id from run)
            and old.state in ${states('pending', 'queued', 'running', 'up_for_retry')}
          returning t.run_id, t.task, t.map_index, t.attempt, old.state as from_state, t.state as to_state
        ), logged as (${insertEvents(
          sql`tasks`,
          {
            ...TASK_RUN_OR_ITEM,
            fromState: sql`from_state`,
            toState: sql`to_state`,
            message,
          },
          {
            from: sql`run`,
            values: {
              runId: sql`id`,
              task: sql`null`,
              mapIndex: sql`null`,
              attempt: sql`null`,
              fromState: state('running'),
              toState: state('failed'),
              message,
            },
          },
        )})
        select exists(select 1 from run) as failed,
               array(select task from tasks where map_index = ${NO_MAP_INDEX}) as ended`,
      tx,
    )
    await countEndedUpstreams(database, tx, runId, row?.ended ?? [])
    return row?.failed ?? false
  })
}
