import type { PlanSchedule, ScheduleTick } from '@podline/sdk'
import { Cron } from 'croner'

/** The schedule's ticks, read by croner in the schedule's zone (DST included). */
function cronOf(s: Pick<PlanSchedule, 'cron' | 'timezone'>): Cron {
  return new Cron(s.cron, { timezone: s.timezone, paused: true })
}

/**
 * The ticks to create now: those in (after, now]. With catchup, every one of them up to the newest
 * `maxCatchup`, oldest first; without, only the latest. `now` is the database's clock.
 */
export function dueTicks(s: PlanSchedule, after: Date, now: Date): Date[] {
  // previousRuns is strictly before its reference: one millisecond on includes a tick at `now`.
  const newestFirst = cronOf(s).previousRuns(s.catchup ? s.maxCatchup : 1, new Date(now.getTime() + 1))
  return newestFirst.filter((tick) => tick > after).reverse()
}

/** The most ticks one backfill covers: a wider range is refused, so no pass walks an unbounded one. */
export const MAX_BACKFILL_TICKS = 10_000

/** Every tick in [from, to], oldest first (a backfill's range), at most `limit` of them. */
export function ticksInRange(
  s: Pick<PlanSchedule, 'cron' | 'timezone'>,
  from: Date,
  to: Date,
  limit: number,
): Date[] {
  const cron = cronOf(s)
  const ticks: Date[] = []
  let tick = cron.nextRun(new Date(from.getTime() - 1))
  while (tick && tick <= to && ticks.length < limit) {
    ticks.push(tick)
    tick = cron.nextRun(tick)
  }
  return ticks
}

/** The tick before `tick`: the start of its data interval. */
export function previousTick(s: PlanSchedule, tick: Date): Date {
  // A cron with a next tick has had earlier ones; the fallback is for patterns bounded in years.
  return cronOf(s).previousRuns(1, tick)[0] ?? tick
}

/** The first tick after `after`, or undefined when the pattern has no more. */
export function nextTick(s: Pick<PlanSchedule, 'cron' | 'timezone'>, after: Date): Date | undefined {
  return cronOf(s).nextRun(after) ?? undefined
}

/** `ctx.schedule` and `schedule.params`' argument, the dates written in the schedule's zone. */
export function scheduleTick(timezone: string, logicalDate: Date, intervalStart: Date): ScheduleTick {
  const end = isoInZone(logicalDate, timezone)
  return { logicalDate: end, interval: { start: isoInZone(intervalStart, timezone), end } }
}

/**
 * An instant as ISO 8601 with the zone's offset at that instant (`2026-03-29T03:00:00+02:00`), so
 * that `logicalDate.slice(0, 10)` is the local date. Written by hand because Node has no Temporal
 * yet; Intl supplies the wall-clock fields and the offset, so no zone rules are hand-coded here.
 */
export function isoInZone(instant: Date, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  )
  // 'GMT+02:00', or 'GMT' for a zero offset.
  const offset = String(parts.timeZoneName).replace('GMT', '') || '+00:00'
  const ms = instant.getUTCMilliseconds()
  const fraction = ms === 0 ? '' : `.${String(ms).padStart(3, '0')}`
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${fraction}${offset}`
}
