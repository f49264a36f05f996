import { sql } from 'drizzle-orm'
import { MAX_BACKFILL_TICKS, ticksInRange } from '../engine/schedule-ticks.js'
import type { Database } from '../store/database.js'

export interface BackfillRequest {
  pipeline: string
  from: Date
  to: Date
  /** Open runs of the range at once; undefined: no bound. */
  maxActive?: number
}

export type BackfillOutcome =
  | { recorded: true; ticks: number; first: Date; last: Date; existing: number }
  | {
      recorded: false
      problem: 'no-schedule' | 'in-the-future' | 'too-many-ticks' | 'no-ticks'
      cron?: string
    }

/**
 * Records a backfill for the workers to carry out (they hold the params function), after checking
 * it against the schedule in force: past ticks only (by the database's clock), at most
 * MAX_BACKFILL_TICKS. Asking again for the same range is the same request: it reopens it with the new
 * bound and creates no run a tick already has, since runs are unique per (pipeline, logical date).
 */
export async function requestBackfill(database: Database, r: BackfillRequest): Promise<BackfillOutcome> {
  return database.db.transaction(async (tx) => {
    const [s] = await database.rows<{ cron: string; timezone: string; now: number }>(
      sql`select cron, timezone, (extract(epoch from now()) * 1000)::float8 as now
          from podline.schedules where pipeline = ${r.pipeline}`,
      tx,
    )
    if (!s) return { recorded: false, problem: 'no-schedule' }
    if (r.to.getTime() > s.now) return { recorded: false, problem: 'in-the-future', cron: s.cron }
    const ticks = ticksInRange(s, r.from, r.to, MAX_BACKFILL_TICKS + 1)
    if (ticks.length > MAX_BACKFILL_TICKS) return { recorded: false, problem: 'too-many-ticks', cron: s.cron }
    const [first, last] = [ticks[0], ticks.at(-1)]
    if (!first || !last) return { recorded: false, problem: 'no-ticks', cron: s.cron }
    const [have] = await database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.runs
          where pipeline = ${r.pipeline}
            and logical_date = any(array(select jsonb_array_elements_text(${JSON.stringify(ticks)}::jsonb)::timestamptz))`,
      tx,
    )
    await database.rows(
      sql`insert into podline.backfills (pipeline, "from", "to", max_active)
          values (${r.pipeline}, ${r.from.toISOString()}::timestamptz, ${r.to.toISOString()}::timestamptz,
                  ${r.maxActive ?? null}::int)
          on conflict (pipeline, "from", "to") do update set max_active = excluded.max_active, done_at = null`,
      tx,
    )
    return { recorded: true, ticks: ticks.length, first, last, existing: have?.n ?? 0 }
  })
}
