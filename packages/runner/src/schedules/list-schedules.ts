import { sql } from 'drizzle-orm'
import { nextTick } from '../engine/schedule-ticks.js'
import type { Database } from '../store/database.js'

export interface ScheduleListing {
  pipeline: string
  version: string
  cron: string
  timezone: string
  catchup: boolean
  maxCatchup: number
  paused: boolean
  /** The next tick after the database's now; null when paused or the pattern has no more. */
  nextTick: Date | null
  lastLogicalDate: Date | null
  /**
   * The first tick after the last one handled, when it is due (null when none is): what the
   * schedule lag is measured from, with or without catchup. A live worker serving the version
   * handles it within a second or so; one that stays due means no worker serves the pipeline.
   */
  dueSince: Date | null
  /** The database's clock when the listing was read. */
  now: Date
}

/** The scheduled pipelines, by name, with their next tick by the database's clock. */
export async function listSchedules(database: Database, pipeline?: string): Promise<ScheduleListing[]> {
  const rows = await database.rows<{
    pipeline: string
    version: string
    cron: string
    timezone: string
    catchup: boolean
    max_catchup: number
    paused: boolean
    last_ms: number | null
    after_ms: number
    now_ms: number
  }>(sql`
    select pipeline, version, cron, timezone, catchup, max_catchup, paused,
           (extract(epoch from last_logical_date) * 1000)::float8 as last_ms,
           (extract(epoch from greatest(ticks_after, last_logical_date)) * 1000)::float8 as after_ms,
           (extract(epoch from now()) * 1000)::float8 as now_ms
    from podline.schedules
    where ${pipeline ?? null}::text is null or pipeline = ${pipeline ?? null}::text
    order by pipeline`)
  return rows.map((r) => {
    const now = new Date(r.now_ms)
    return {
      pipeline: r.pipeline,
      version: r.version,
      cron: r.cron,
      timezone: r.timezone,
      catchup: r.catchup,
      maxCatchup: r.max_catchup,
      paused: r.paused,
      nextTick: r.paused ? null : (nextTick(r, now) ?? null),
      lastLogicalDate: r.last_ms === null ? null : new Date(r.last_ms),
      dueSince: r.paused ? null : dueSince(r, new Date(r.after_ms), now),
      now,
    }
  })
}

function dueSince(s: { cron: string; timezone: string }, after: Date, now: Date): Date | null {
  const first = nextTick(s, after)
  return first && first <= now ? first : null
}
