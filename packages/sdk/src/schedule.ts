import { Cron } from 'croner'

/** The tick a scheduled run stands for: `ctx.schedule`, and what `schedule.params` receives. */
export interface ScheduleTick {
  /** The tick, as an ISO string with the schedule's UTC offset (`2026-03-29T03:00:00+02:00`). */
  readonly logicalDate: string
  /** The data interval: from the previous tick to this one (`end` is `logicalDate`). */
  readonly interval: { readonly start: string; readonly end: string }
}

interface ScheduleBase {
  /** Five fields (`'0 3 * * *'`), or six with seconds first (`'*\/2 * * * * *'`); read by croner. */
  cron: string
  /** An IANA zone the cron is read in (`'Europe/Paris'`); DST is handled. Default `'UTC'`. */
  timezone?: string
  /**
   * After the schedule could not run (no live worker), create every missed tick, oldest first, at
   * most `maxCatchup` of them (the newest). Off: only the latest. Default false.
   */
  catchup?: boolean
  /** With catchup, the most missed ticks created at once. Default 100. */
  maxCatchup?: number
}

/**
 * A pipeline's schedule. `params` turns a tick into the run's params (the params schema's input);
 * it is required when the params cannot be omitted.
 */
export type ScheduleOptions<ParamsInput> = ScheduleBase &
  (undefined extends ParamsInput
    ? { params?: (tick: ScheduleTick) => ParamsInput }
    : { params: (tick: ScheduleTick) => ParamsInput })

/** A schedule as the plan carries it (JSON; the params function stays with the code). */
export interface PlanSchedule {
  cron: string
  timezone: string
  catchup: boolean
  maxCatchup: number
}

/** The runtime view the runner uses: the plan's settings and the params function, if any. */
export interface ResolvedSchedule extends PlanSchedule {
  readonly params: ((tick: ScheduleTick) => unknown) | undefined
}

export const SCHEDULE_OPTION_KEYS = ['cron', 'timezone', 'catchup', 'maxCatchup', 'params'] as const

export const DEFAULT_MAX_CATCHUP = 100

/** A schedule must tick within this many years of its definition: room for February 29, not for typos. */
const TICK_HORIZON_YEARS = 5
const YEAR_MS = 365.25 * 24 * 60 * 60 * 1000
const CRON_SHAPE =
  'a cron has five fields (minute hour day-of-month month day-of-week), or six with seconds first, and the zone is an IANA name'

export class ScheduleDefinitionError extends Error {
  override readonly name = 'ScheduleDefinitionError'
}

/** Checks a schedule when the pipeline is defined, so a bad cron or zone fails at once, not at 3 a.m. */
export function resolveSchedule(pipeline: string, options: unknown): ResolvedSchedule {
  const what = `pipeline "${pipeline}": schedule`
  if (typeof options !== 'object' || options === null)
    throw new ScheduleDefinitionError(`${what} must be an object such as { cron: '0 3 * * *' }`)
  const o = options as Record<string, unknown>
  const unknown = Object.keys(o).filter((k) => !(SCHEDULE_OPTION_KEYS as readonly string[]).includes(k))
  if (unknown.length > 0)
    throw new ScheduleDefinitionError(
      `${what}: unknown option ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the options are ${SCHEDULE_OPTION_KEYS.join(', ')}`,
    )
  const { cron, timezone = 'UTC', catchup = false, maxCatchup = DEFAULT_MAX_CATCHUP, params } = o
  if (typeof cron !== 'string')
    throw new ScheduleDefinitionError(`${what}.cron must be a string such as '0 3 * * *'`)
  if (typeof timezone !== 'string')
    throw new ScheduleDefinitionError(`${what}.timezone must be an IANA zone such as 'Europe/Paris'`)
  const invalid = (reason: string) =>
    new ScheduleDefinitionError(
      `${what} is invalid: ${reason} (cron '${cron}', timezone '${timezone}'; ${CRON_SHAPE})`,
    )
  const fields = cron.trim().split(/\s+/).length
  // Croner also reads a seventh field (years), which the docs do not promise: refused, not guessed at.
  if (!cron.trim().startsWith('@') && (fields < 5 || fields > 6))
    throw invalid(`the cron has ${fields} field${fields === 1 ? '' : 's'}`)
  let next: Date | null
  try {
    // Croner parses the pattern; nextRun() converts into the zone, which refuses an unknown zone.
    next = new Cron(cron, { timezone, paused: true }).nextRun()
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error))
  }
  // A pattern that parses can still name no day (February 30): accepted, it would silently never run.
  if (next === null)
    throw invalid(
      'it never fires: no date matches it (a day its months do not have, such as February 30 or April 31?)',
    )
  if (next.getTime() - Date.now() > TICK_HORIZON_YEARS * YEAR_MS)
    throw invalid(
      `its next tick is ${next.toISOString()}, more than ${TICK_HORIZON_YEARS} years away: a schedule must tick within ${TICK_HORIZON_YEARS} years`,
    )
  if (typeof catchup !== 'boolean') throw new ScheduleDefinitionError(`${what}.catchup must be true or false`)
  if (!Number.isInteger(maxCatchup) || (maxCatchup as number) < 1)
    throw new ScheduleDefinitionError(
      `${what}.maxCatchup must be a positive integer, got ${String(maxCatchup)}`,
    )
  if (params !== undefined && typeof params !== 'function')
    throw new ScheduleDefinitionError(
      `${what}.params must be a function of the tick ({ logicalDate, interval })`,
    )
  return Object.freeze({
    cron,
    timezone,
    catchup,
    maxCatchup: maxCatchup as number,
    params: params as ResolvedSchedule['params'],
  })
}

/** The plan's part of a schedule: everything but the function. */
export function planSchedule(s: ResolvedSchedule): PlanSchedule {
  return { cron: s.cron, timezone: s.timezone, catchup: s.catchup, maxCatchup: s.maxCatchup }
}
