import { randomUUID } from 'node:crypto'
import type { AnyPipeline, PipelinePlan } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { checkParams } from '../engine/run-params.js'
import { computeRunValues } from '../engine/run-values.js'
import type { Database, Executor } from '../store/database.js'
import { textArray } from '../store/sql-arrays.js'
import { type AssetEventRow, EVENT_COLUMNS, storedEvent } from './asset-events.js'
import { type AssetTrigger, insertRun } from './create-run.js'
import { loadedPipelines, versionsInForce } from './versions-in-force.js'

/**
 * The most events one pass turns into runs of one pipeline, in one transaction that holds the
 * pipeline's cursors (other workers' passes skip it meanwhile): the next pass follows at once.
 */
export const ASSET_BATCH = 200

export interface AssetRunsReport {
  /** Runs this pass created. */
  created: number
  /** A pipeline had more events than ASSET_BATCH: pass again at once. */
  more: boolean
  /**
   * Events not yet readable in order (a transaction older than theirs is still open): pass again
   * soon, and later each time they are still not (a long transaction can hold them a while).
   */
  pending: boolean
  /** Consumers whose runs could not be made (their params failed): their events wait. */
  problems: string[]
}

/** An event row as the pass reads it: with its transaction, for the cursor. */
type EventRow = AssetEventRow & { tx: string }

/**
 * The one operation that turns asset events into runs, which every worker serving a consuming
 * pipeline runs when an event is recorded (ASSET_CHANNEL) and on its scheduler's timer. For each
 * pipeline `on` assets whose version in force this worker has loaded, it locks the pipeline's
 * cursors (SKIP LOCKED: a pass already at it will see what this one would), reads the events after
 * them, creates the runs and moves the cursors, in one transaction: a worker killed anywhere in it
 * leaves nothing behind, and no event makes two runs of one pipeline. Under `any` (and a single
 * asset) each event makes a run; under `all`, a run once each asset has an event since the last,
 * with the newest of each.
 */
export async function createAssetRuns(
  database: Database,
  pipelines: readonly AnyPipeline[],
): Promise<AssetRunsReport> {
  const report: AssetRunsReport = { created: 0, more: false, pending: false, problems: [] }
  const consumers = pipelines.filter((p) => p.on !== undefined)
  if (consumers.length === 0) return report
  const { inForce } = await versionsInForce(database, loadedPipelines(consumers))
  for (const { pipeline, plan } of inForce) {
    await database.db.transaction(async (tx) => {
      const result = await consume(database, tx, pipeline, plan)
      report.created += result.created
      if (result.more) report.more = true
      if (result.pending) report.pending = true
      if (result.problem) report.problems.push(result.problem)
    })
  }
  return report
}

async function consume(
  database: Database,
  tx: Executor,
  pipeline: AnyPipeline,
  plan: PipelinePlan,
): Promise<{ created: number; more: boolean; pending: boolean; problem?: string }> {
  const on = plan.on as NonNullable<PipelinePlan['on']>
  const assets = [...on.assets].sort()
  // A consumer takes the events recorded from its first pass on: those of transactions still open
  // then, and later ones. (Earlier history would start a run per old event at its first deploy.)
  await database.rows(
    sql`insert into podline.asset_cursors (pipeline, asset, after_tx, after_id)
        select ${plan.name}, a, pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1, 9223372036854775807
        from unnest(${textArray(assets)}) as a
        on conflict do nothing`,
    tx,
  )
  const cursors = await database.rows<{ asset: string }>(
    sql`select asset from podline.asset_cursors
        where pipeline = ${plan.name} and asset = any(${textArray(assets)})
        order by asset for update skip locked`,
    tx,
  )
  // Another worker's pass holds them: it creates these runs, and passes again if more came.
  if (cursors.length < assets.length) return { created: 0, more: false, pending: false }
  // Events in (tx, id) order, of transactions older than every one still open: none can appear
  // later before the cursor. A newer event waits for the next pass (`pending`). Under `all`, only
  // the newest of each asset matters: the run takes it, and the cursor moves past the rest.
  const newestOnly = on.mode === 'all'
  const events = await database.rows<EventRow & { pending: boolean }>(
    sql`with horizon as (select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as xmin)
        select ${EVENT_COLUMNS}, e.tx::text as tx, e.tx >= h.xmin as pending
        from podline.asset_cursors c
        cross join horizon h
        cross join lateral (
          select * from podline.asset_events e
          where e.asset = c.asset and (e.tx, e.id) > (c.after_tx, c.after_id)
            ${newestOnly ? sql`and e.tx < h.xmin order by e.tx desc, e.id desc limit 1` : sql`order by e.tx, e.id limit ${ASSET_BATCH + 1}`}
        ) e
        where c.pipeline = ${plan.name} and c.asset = any(${textArray(assets)})
        order by e.tx, e.id`,
    tx,
  )
  const ready = events.filter((e) => !e.pending)
  const pending = ready.length < events.length
  if (ready.length === 0) return { created: 0, more: false, pending }
  let params: Awaited<ReturnType<typeof checkParams>>
  let values: Awaited<ReturnType<typeof computeRunValues>>
  try {
    params = await checkParams(pipeline, {})
    values = await computeRunValues(pipeline, params)
  } catch (error) {
    return {
      created: 0,
      more: false,
      pending,
      problem: `${plan.name}: its runs from asset events cannot be made, and the events wait: ${error instanceof Error ? error.message : String(error)}`,
    }
  }
  const runs: AssetTrigger[] = []
  /** The last event each cursor moves to. */
  const consumed = new Map<string, EventRow>()
  if (on.mode === 'any') {
    for (const e of ready.slice(0, ASSET_BATCH)) {
      runs.push({ events: { [e.asset]: storedEvent(e) }, newestId: Number(e.id) })
      consumed.set(e.asset, e)
    }
  } else {
    const newest = new Map<string, EventRow>()
    for (const e of ready) newest.set(e.asset, e)
    if (assets.every((a) => newest.has(a))) {
      const events = Object.fromEntries([...newest].map(([asset, e]) => [asset, storedEvent(e)]))
      runs.push({ events, newestId: Math.max(...[...newest.values()].map((e) => Number(e.id))) })
      for (const [asset, e] of newest) consumed.set(asset, e)
    }
  }
  let created = 0
  for (const trigger of runs)
    if (await insertRun(database, tx, { id: randomUUID(), plan, params, values, trigger })) created++
  for (const [asset, e] of consumed)
    await database.rows(
      sql`update podline.asset_cursors set after_tx = ${e.tx}::bigint, after_id = ${e.id}::bigint, updated_at = now()
          where pipeline = ${plan.name} and asset = ${asset}`,
      tx,
    )
  return { created, more: ready.length > ASSET_BATCH, pending }
}
