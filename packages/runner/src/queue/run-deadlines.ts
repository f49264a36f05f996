import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { insertEvents } from './event-log.js'
import { CALLBACK_CHANNEL, state, states } from './sql-values.js'

/**
 * Marks the open runs whose deadline has passed, once each, and queues their `onDeadline` callback
 * in the same statement (run_callbacks, one per run and event). Every worker's scheduler pass runs
 * it; `deadline_missed_at is null` under the row lock the update takes keeps a run to one mark
 * however many passes race. Returns how many runs it marked.
 */
export async function markMissedDeadlines(database: Database): Promise<number> {
  const [row] = await database.rows<{ missed: number }>(sql`
    with missed as (
      update podline.runs set deadline_missed_at = now()
      where deadline_at <= now() and deadline_missed_at is null and state in ${states('queued', 'running')}
      returning id, pipeline, version, state, callbacks, deadline_at
    ), logged as (${insertEvents(sql`missed`, {
      runId: sql`id`,
      fromState: sql`state`,
      toState: sql`state`,
      message: sql`'missed its deadline of ' || to_char(deadline_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
    })}), callbacks_queued as (
      insert into podline.run_callbacks (run_id, pipeline, version, event, state)
      select id, pipeline, version, 'deadline', ${state('queued')} from missed where 'deadline' = any(callbacks)
      on conflict (run_id, event, task, map_index, attempt) do nothing
      returning version
    ), notified as (
      select pg_notify(${CALLBACK_CHANNEL}, v.version) from (select distinct version from callbacks_queued) v
    )
    select (select count(*)::int from missed) as missed, (select count(*) from notified) as notified`)
  return row?.missed ?? 0
}
