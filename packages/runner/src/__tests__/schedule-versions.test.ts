import { type AnyPipeline, json, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { registerPlans } from '../queue/register-pipelines.js'
import { requestBackfill } from '../queue/request-backfill.js'
import { BACKFILL_BATCH, scheduleDueRuns } from '../queue/schedule-runs.js'
import { registerWorker } from '../queue/workers.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

/** The worker the passes are made in the name of (the scheduler's own timer passes its worker's id). */
const WORKER = 'scheduling-test'

/** The scheduler's pass called directly, with workers registered as the workers table knows them. */
describe('the schedule in force', () => {
  const db = useFreshDatabase()

  const serve = async (id: string, p: AnyPipeline) => {
    await registerPlans(db.database, [p.plan()])
    await registerWorker(db.database, {
      id,
      hostname: 'h',
      pid: 1,
      versions: [p.plan().version],
      concurrency: 1,
      leaseMs: 60_000,
    })
  }
  const row = async () =>
    (
      await db.database.rows<{ version: string; cron: string }>(
        sql`select version, cron from podline.schedules where pipeline = 'evolving'`,
      )
    )[0]
  const runCount = async (pipeline: string) =>
    (
      await db.database.rows<{ n: number }>(
        sql`select count(*)::int as n from podline.runs where pipeline = ${pipeline}`,
      )
    )[0]?.n
  /** Waits until the database's clock has passed a whole second more, so at least one tick is due. */
  const aTickPasses = async () => {
    const [start] = await db.database.rows<{ s: number }>(sql`select extract(epoch from now())::float8 as s`)
    await waitUntil('the database clock to pass a whole second more', async () => {
      const [now] = await db.database.rows<{ s: number }>(sql`select extract(epoch from now())::float8 as s`)
      return (now?.s ?? 0) > Math.floor(start?.s ?? 0) + 1.05
    })
  }

  const v1 = pipeline('evolving', { schedule: { cron: '* * * * * *' } }).task('t', () => 1)
  const v2 = pipeline('evolving', { schedule: { cron: '*/2 * * * * *' } }).task('t', () => 1)
  const v3 = pipeline('evolving').task('t', () => 1)

  it("a new version's schedule takes effect when a worker serving it registers it; an older worker then schedules nothing", async () => {
    await serve('w1', v1)
    await scheduleDueRuns(db.database, [v1], WORKER)
    expect(await row()).toEqual({ version: v1.plan().version, cron: '* * * * * *' })

    await serve('w2', v2)
    // The old worker's pass no longer writes: its version is not the newest a live worker serves.
    await scheduleDueRuns(db.database, [v1], WORKER)
    expect((await row())?.version).toBe(v1.plan().version)
    await scheduleDueRuns(db.database, [v2], WORKER)
    expect(await row()).toEqual({ version: v2.plan().version, cron: '*/2 * * * * *' })

    const before = await runCount('evolving')
    await aTickPasses()
    const report = await scheduleDueRuns(db.database, [v1], WORKER)
    expect(report.created).toBe(0)
    expect(await runCount('evolving')).toBe(before)
  })

  it('a version without a schedule removes it, and no tick is created any more', async () => {
    await serve('w3', v3)
    await scheduleDueRuns(db.database, [v3], WORKER)
    expect(await row()).toBeUndefined()
    const before = await runCount('evolving')
    await aTickPasses()
    await aTickPasses()
    for (const p of [v1, v2, v3]) expect((await scheduleDueRuns(db.database, [p], WORKER)).created).toBe(0)
    expect(await runCount('evolving')).toBe(before)
  })

  it('params that fail the schema create no run and hold the schedule at that tick, saying why', async () => {
    const bad = pipeline('bad-params', {
      params: json<{ n: number }>(),
      schedule: { cron: '* * * * * *', params: () => ({ n: Number.NaN }) },
    }).task('t', () => 1)
    await serve('w4', bad)
    await scheduleDueRuns(db.database, [bad], WORKER)
    await aTickPasses()
    const report = await scheduleDueRuns(db.database, [bad], WORKER)
    expect(report.problems).toHaveLength(1)
    expect(report.problems[0]).toMatch(
      /^bad-params at \S+Z: params of pipeline "bad-params" failed validation: value\.n is NaN, not JSON; no run was created$/,
    )
    expect(await runCount('bad-params')).toBe(0)
    const [schedule] = await db.database.rows<{ last: string | null }>(
      sql`select last_logical_date::text as last from podline.schedules where pipeline = 'bad-params'`,
    )
    expect(schedule?.last).toBeNull()
  })
  it('a large backfill is created in batches, each in a short transaction: a pause between them waits for one batch only', async () => {
    const hourly = pipeline('backfilled', { schedule: { cron: '0 * * * *' } }).task('t', () => 1)
    await serve('w-backfill', hourly)
    await scheduleDueRuns(db.database, [hourly], WORKER)
    const before = (await runCount('backfilled')) ?? 0
    const ticks = BACKFILL_BATCH * 2 + 10
    const to = new Date(Date.UTC(2025, 0, 1))
    const from = new Date(to.getTime() - (ticks - 1) * 3_600_000)
    expect(await requestBackfill(db.database, { pipeline: 'backfilled', from, to })).toMatchObject({
      recorded: true,
      ticks,
    })
    const first = await scheduleDueRuns(db.database, [hourly], WORKER)
    expect(first.created).toBe(BACKFILL_BATCH)
    expect(first.more).toBe(true)
    // Between two batches the schedule's row is free: a pause takes it at once.
    await db.database.rows(sql`update podline.schedules set paused = true where pipeline = 'backfilled'`)
    const second = await scheduleDueRuns(db.database, [hourly], WORKER)
    expect(second.created).toBe(BACKFILL_BATCH)
    const third = await scheduleDueRuns(db.database, [hourly], WORKER)
    expect(third).toMatchObject({ created: 10, more: false })
    expect(await runCount('backfilled')).toBe(before + ticks)
    const [open] = await db.database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.backfills where pipeline = 'backfilled' and done_at is null`,
    )
    expect(open?.n).toBe(0)
  })
})
