import type { JsonValue } from '@podline/sdk'
import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import type { StoredAssetEvent } from './create-run.js'
import { ASSET_CHANNEL, state } from './sql-values.js'

/** An asset_events row as its readers select it (EVENT_COLUMNS of alias `e`). */
export interface AssetEventRow {
  id: string
  asset: string
  value: StoredAssetEvent['value']
  createdAt: string
  runId: string | null
  pipeline: string | null
  task: string | null
}

/** The columns of an AssetEventRow, from asset_events aliased `e`: ids and times as text. */
export const EVENT_COLUMNS = sql.raw(
  `e.id::text as id, e.asset, e.value, e.created_at::text as "createdAt", e.run_id as "runId", e.pipeline, e.task`,
)

/** An event as a run stores it and its tasks read it: the producer linked, or null when emitted. */
export function storedEvent(row: AssetEventRow): StoredAssetEvent {
  return {
    id: row.id,
    value: row.value,
    createdAt: new Date(row.createdAt).toISOString(),
    producer:
      row.runId && row.pipeline && row.task
        ? { pipeline: row.pipeline, runId: row.runId, task: row.task }
        : null,
  }
}

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

/** Events deleted per statement by retention. */
const EVENT_PRUNE_BATCH = 1000

/**
 * Retention of asset events: deletes those recorded more than `olderThanMs` ago that nothing needs
 * any more, in batches: every consumer's cursor is past it (it has made its runs), no run that
 * still exists holds it (`runs.assets`, through its GIN index: those runs are pruned at the same
 * age), and it is not its asset's newest (listings and `all` conditions show the last one). An
 * offloaded value's object then has no event pointing to it, and the orphan collection takes it.
 * Returns how many events it deleted.
 */
export async function pruneAssetEvents(database: Database, olderThanMs: number): Promise<number> {
  let deleted = 0
  for (;;) {
    const rows = await database.rows(sql`
      delete from podline.asset_events
      where id in (
        select e.id from podline.asset_events e
        where e.created_at < now() - ${olderThanMs} * interval '1 millisecond'
          and exists (select 1 from podline.asset_events n where n.asset = e.asset and n.id > e.id)
          and not exists (
            select 1 from podline.asset_cursors c
            where c.asset = e.asset and (c.after_tx, c.after_id) < (e.tx, e.id))
          and not exists (
            select 1 from podline.runs r
            where r.assets is not null
              and r.assets @> jsonb_build_object(e.asset, jsonb_build_object('id', e.id::text)))
        order by e.created_at
        limit ${EVENT_PRUNE_BATCH})
      returning 1`)
    deleted += rows.length
    if (rows.length < EVENT_PRUNE_BATCH) return deleted
  }
}
