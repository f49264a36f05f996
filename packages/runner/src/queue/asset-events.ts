import type { JsonValue } from '@podline/sdk'
import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { ASSET_CHANNEL, state } from './sql-values.js'

/**
 * CTEs for the completion's statement (finish-attempt.ts): each success of a task that produces
 * assets records one event per asset, with the stored output as its value, in the statement that
 * stores the success, so an event exists exactly when its producer succeeded; then wakes the
 * workers of the assets' consumers. `done` is the statement's CTE of ended task runs.
 */
export function recordAssetEvents(done: SQL): SQL {
  return sql`asset_events_written as (
      insert into podline.asset_events (asset, value, run_id, pipeline, task)
      select a.asset, coalesce(d.output, 'null'::jsonb), d.run_id, d.pipeline, d.task
      from ${done} d cross join unnest(d.produces) as a(asset)
      where d.state = ${state('success')} and d.produces is not null
      returning asset
    ), assets_notified as (
      select pg_notify(${ASSET_CHANNEL}, asset) from (select distinct asset from asset_events_written) a
    )`
}

/** An event written from outside a pipeline (`podline assets emit`, the API): its id. */
export async function insertAssetEvent(database: Database, asset: string, value: JsonValue): Promise<string> {
  const [row] = await database.rows<{ id: string }>(sql`
    with written as (
      insert into podline.asset_events (asset, value) values (${asset}, ${JSON.stringify(value)}::jsonb)
      returning id, asset
    ), notified as (select pg_notify(${ASSET_CHANNEL}, asset) from written)
    select id::text as id from written, (select count(*) from notified) n`)
  if (!row) throw new Error(`asset "${asset}": the event was not written`)
  return row.id
}
