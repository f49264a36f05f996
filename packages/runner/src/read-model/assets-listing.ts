import type { PipelinePlan } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { type AssetEventRow, EVENT_COLUMNS, storedEvent } from '../queue/asset-events.js'
import type { StoredAssetEvent } from '../queue/create-run.js'
import type { Database } from '../store/database.js'
import { textArray } from '../store/sql-arrays.js'

/** One recorded event, as listings show it: as a run stores it, with its asset. */
export type AssetEventListing = StoredAssetEvent & { asset: string }

/** One asset as `podline assets` and the UI show it: who produces it, who runs on it, its last event. */
export interface AssetListing {
  name: string
  /** The JSON Schema of its value, from the newest registered pipeline declaring it. */
  jsonSchema: Record<string, unknown>
  producers: Array<{ pipeline: string; task: string }>
  consumers: Array<{ pipeline: string; mode: 'all' | 'any'; with: string[] }>
  lastEvent: AssetEventListing | null
}

const eventOf = (row: AssetEventRow): AssetEventListing => ({ ...storedEvent(row), asset: row.asset })

/**
 * Every asset the newest registered version of each pipeline declares, by name: its producers
 * (pipeline and task), its consumers (pipelines `on` it, and the other assets of their condition)
 * and its newest event, one index probe per asset.
 */
export async function listAssets(database: Database): Promise<AssetListing[]> {
  const plans = await database.rows<{ plan: PipelinePlan }>(sql`
    select plan from (
      select distinct on (name) plan from podline.pipelines order by name, created_at desc
    ) newest
    where plan ? 'assets'`)
  const byName = new Map<string, AssetListing>()
  for (const { plan } of plans) {
    for (const [name, { jsonSchema }] of Object.entries(plan.assets ?? {})) {
      const listing = byName.get(name) ?? { name, jsonSchema, producers: [], consumers: [], lastEvent: null }
      byName.set(name, listing)
      for (const t of plan.tasks)
        if (t.produces?.includes(name)) listing.producers.push({ pipeline: plan.name, task: t.name })
      if (plan.on?.assets.includes(name))
        listing.consumers.push({
          pipeline: plan.name,
          mode: plan.on.mode,
          with: plan.on.assets.filter((a) => a !== name),
        })
    }
  }
  const names = [...byName.keys()].sort()
  if (names.length === 0) return []
  const last = await database.rows<AssetEventRow>(sql`
    select ${EVENT_COLUMNS} from unnest(${textArray(names)}) as a(name)
    cross join lateral (
      select * from podline.asset_events where asset = a.name order by id desc limit 1
    ) e`)
  for (const row of last) {
    const listing = byName.get(row.asset)
    if (listing) listing.lastEvent = eventOf(row)
  }
  return names.map((n) => byName.get(n) as AssetListing)
}

/** An asset's events, newest first, `limit` of them before the event id `before` (exclusive). */
export async function assetEvents(
  database: Database,
  asset: string,
  options: { limit?: number; before?: string } = {},
): Promise<AssetEventListing[]> {
  const limit = Math.min(Math.max(1, options.limit ?? 50), 500)
  const rows = await database.rows<AssetEventRow>(sql`
    select ${EVENT_COLUMNS} from podline.asset_events e
    where e.asset = ${asset} ${options.before ? sql`and e.id < ${options.before}::bigint` : sql``}
    order by e.id desc limit ${limit}`)
  return rows.map(eventOf)
}
