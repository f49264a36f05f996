import { randomUUID } from 'node:crypto'
import type { AnyPipeline, JsonValue, PlanSchedule, ResolvedSchedule } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { checkParams } from '../engine/run-params.js'
import { computeRunValues, hasKeyedTasks, isLimited, type RunValues } from '../engine/run-values.js'
import {
  dueTicks,
  MAX_BACKFILL_TICKS,
  nextTick,
  previousTick,
  scheduleTick,
  ticksInRange,
} from '../engine/schedule-ticks.js'
import { OPEN_RUN_STATES } from '../engine/states.js'
import type { Database, Executor } from '../store/database.js'
import { admitRuns } from './admit-runs.js'
import { admitKeyedTasks } from './admit-tasks.js'
import { assignRunValues } from './concurrency-keys.js'
import { insertRun } from './create-run.js'
import { endDueWaits, hasTimedWaits } from './end-wait.js'
import { markMissedDeadlines } from './run-deadlines.js'
import { states } from './sql-values.js'
import { epochMs, type LoadedPipeline, loadedPipelines, versionsInForce } from './versions-in-force.js'

export interface ScheduleReport {
  /** Runs this call created. */
  created: number
  /** The next tick of the schedules this worker keeps in force, for its timer. */
  nextTickAt: Date | undefined
  /** The database's clock when the pass began. */
  now: Date
  /**
   * Something may wait for runs to end: a backfill with ticks left under its bound, or runs of a
   * pipeline with maxActiveRuns. The timer passes again soon.
   */
  waiting: boolean
  /** A backfill has runs left to create that this pass left for the next (BACKFILL_BATCH): pass again at once. */
  more: boolean
  /** Ticks whose params could not be made or failed the schema: nothing was created for them. */
  problems: string[]
}

type Scheduled = LoadedPipeline

/**
 * The scheduler's one operation, which every worker runs on its timer: for each pipeline whose
 * version in force (the newest a live worker serves) this worker has loaded, it writes that
 * version's schedule (or deletes it, when the version has none) and inserts the due runs. A unique
 * (pipeline, logical_date) index makes the insert idempotent, so any number of workers may run it
 * at once and crash anywhere in it; the schedule's row lock only spares them redundant work.
 * What is due is decided by the database's clock. It also starts runs waiting under maxActiveRuns.
 */
export async function scheduleDueRuns(
  database: Database,
  pipelines: readonly AnyPipeline[],
  /** The worker passing: a run whose concurrency key cannot be computed is failed in its name. */
  workerId: string,
): Promise<ScheduleReport> {
  const report: ScheduleReport = {
    created: 0,
    nextTickAt: undefined,
    now: new Date(),
    waiting: false,
    more: false,
    problems: [],
  }
  if (pipelines.length === 0) return report
  const mine = loadedPipelines(pipelines)
  const { inForce, now } = await versionsInForce(database, mine)
  if (now) report.now = now
  for (const found of inForce) {
    const { pipeline, plan } = found
    const schedule = pipeline.schedule
    if (!plan.schedule || !schedule) {
      // The version in force has no schedule: removing it from the code stops the ticks.
      await database.rows(sql`delete from podline.schedules where pipeline = ${plan.name}`)
      continue
    }
    await database.db.transaction(async (tx) => {
      const now = await keepSchedule(database, tx, found, report)
      if (now === undefined) return
      report.now = now
      const next = nextTick(schedule, now)
      if (next && (!report.nextTickAt || next < report.nextTickAt)) report.nextTickAt = next
    })
  }
  // Runs created without the code (by `podline trigger`, the UI) get their keys and computed
  // priorities from this worker's.
  for (const m of mine) await assignRunValues(database, m.pipeline, m.plan.version, workerId)
  // maxActiveRuns, concurrency keys: a slot frees when a run ends, and any worker serving the
  // pipeline starts the next; so do runs whose values were just computed.
  const limited = new Set(mine.filter((m) => isLimited(m.plan)).map((m) => m.plan.name))
  for (const name of limited) await database.db.transaction((tx) => admitRuns(database, tx, name))
  // A task's concurrency key: a place frees when one of its task runs ends.
  const keyed = new Set(mine.filter((m) => hasKeyedTasks(m.plan)).map((m) => m.plan.name))
  for (const name of keyed) await database.db.transaction((tx) => admitKeyedTasks(database, tx, name))
  // A run of a limited pipeline may be queued beyond the limit at any moment: keep passing soon.
  if (limited.size > 0 || keyed.size > 0) report.waiting = true
  // Waits past their time: a sleep ends, a signal's timeout fails the step (trigger rules then apply).
  const timed = mine.map((m) => m.plan).filter(hasTimedWaits)
  if (timed.length > 0) {
    await endDueWaits(database, timed)
    report.waiting = true
  }
  // Deadlines: marked within a pass (a second) of passing, by whichever worker passes first.
  if (mine.some((m) => m.plan.deadline)) {
    await markMissedDeadlines(database)
    report.waiting = true
  }
  return report
}

/** Writes the schedule in force, locks its row and inserts its due runs; returns the database's now. */
async function keepSchedule(
  database: Database,
  tx: Executor,
  { pipeline, plan }: Scheduled,
  report: ScheduleReport,
): Promise<Date | undefined> {
  const s = plan.schedule as PlanSchedule
  await database.rows(
    sql`
        insert into podline.schedules as s (pipeline, version, cron, timezone, catchup, max_catchup)
        values (${plan.name}, ${plan.version}, ${s.cron}, ${s.timezone}, ${s.catchup}, ${s.maxCatchup})
        on conflict (pipeline) do update
          set version = excluded.version, cron = excluded.cron, timezone = excluded.timezone,
              catchup = excluded.catchup, max_catchup = excluded.max_catchup, updated_at = now()
          where s.version <> excluded.version`,
    tx,
  )
  const [row] = await database.rows<{ paused: boolean; after: number; now: number }>(
    sql`
        select paused, ${epochMs('greatest(ticks_after, last_logical_date)')} as after, ${epochMs('now()')} as now
        from podline.schedules where pipeline = ${plan.name}
        for update`,
    tx,
  )
  if (!row) return undefined
  const now = new Date(row.now)
  /** Creates the tick's run (unless one exists); false when its params failed (recorded as a problem). */
  const createTick = async (logicalDate: Date): Promise<boolean> => {
    const intervalStart = previousTick(s, logicalDate)
    let params: JsonValue
    let values: RunValues
    try {
      params = await checkParams(
        pipeline,
        (pipeline.schedule as ResolvedSchedule).params?.(
          scheduleTick(s.timezone, logicalDate, intervalStart),
        ),
      )
      values = await computeRunValues(pipeline, params)
    } catch (error) {
      // The tick stays uncreated (and the schedule does not move past it): the next pass tries again.
      report.problems.push(
        `${plan.name} at ${logicalDate.toISOString()}: ${error instanceof Error ? error.message : String(error)}`,
      )
      return false
    }
    if (
      await insertRun(database, tx, {
        id: randomUUID(),
        plan,
        params,
        tick: { logicalDate, intervalStart },
        values,
      })
    )
      report.created++
    return true
  }
  if (!row.paused) {
    for (const logicalDate of dueTicks(s, new Date(row.after), now)) {
      if (!(await createTick(logicalDate))) break
      await database.rows(
        sql`update podline.schedules
              set last_logical_date = greatest(last_logical_date, ${logicalDate.toISOString()}::timestamptz)
              where pipeline = ${plan.name}`,
        tx,
      )
    }
  }
  const backfills = await carryOutBackfills(database, tx, plan.name, s, createTick)
  if (backfills !== 'done') report.waiting = true
  if (backfills === 'more') report.more = true
  return now
}

/**
 * The most runs one pass creates for a pipeline's backfills. They are created in the transaction
 * that holds the schedule's row, which `podline pause` and the other workers' passes wait for: a
 * backfill of 10,000 ticks in one transaction held them for 16 s. The next pass follows at once.
 */
export const BACKFILL_BATCH = 250

/**
 * Creates the missing runs of the pipeline's open backfills, oldest tick first, while fewer than
 * `max_active` runs of the range are open and at most BACKFILL_BATCH in this pass; a backfill is done
 * when every tick has its run. Paused schedules are backfilled too: a backfill is an explicit
 * request. Says whether all are done, one waits for runs to end, or this pass left runs to create.
 */
async function carryOutBackfills(
  database: Database,
  tx: Executor,
  pipeline: string,
  s: PlanSchedule,
  createTick: (logicalDate: Date) => Promise<boolean>,
): Promise<'done' | 'waiting' | 'more'> {
  let unfinished: 'done' | 'waiting' | 'more' = 'done'
  let budget = BACKFILL_BATCH
  const open = await database.rows<{ id: string; from: number; to: number; max_active: number | null }>(
    sql`select id::text, ${epochMs('"from"')} as "from", ${epochMs('"to"')} as "to", max_active
        from podline.backfills where pipeline = ${pipeline} and done_at is null order by id`,
    tx,
  )
  for (const b of open) {
    const existing = await database.rows<{ ms: number; open: boolean }>(
      sql`select ${epochMs('logical_date')} as ms, state in ${states(...OPEN_RUN_STATES)} as open
          from podline.runs
          where pipeline = ${pipeline} and logical_date between ${new Date(b.from).toISOString()}::timestamptz
                                                           and ${new Date(b.to).toISOString()}::timestamptz`,
      tx,
    )
    const have = new Set(existing.map((r) => r.ms))
    const missing = ticksInRange(s, new Date(b.from), new Date(b.to), MAX_BACKFILL_TICKS).filter(
      (tick) => !have.has(tick.getTime()),
    )
    const active = existing.filter((r) => r.open).length
    const slots = b.max_active === null ? missing.length : Math.max(0, b.max_active - active)
    let created = 0
    for (const tick of missing.slice(0, Math.min(slots, budget))) {
      if (!(await createTick(tick))) break
      created++
    }
    budget -= created
    if (created === missing.length)
      await database.rows(sql`update podline.backfills set done_at = now() where id = ${b.id}::bigint`, tx)
    else if (budget === 0 && created < slots) unfinished = 'more'
    else if (unfinished === 'done') unfinished = 'waiting'
  }
  return unfinished
}
