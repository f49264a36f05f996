import { join } from 'node:path'
import { freshDatabase } from '@podline/runner/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, podline, type Running, start, waitUntil } from './__tests__/cli.js'

let db: Awaited<ReturnType<typeof freshDatabase>>
let sql: postgres.Sql
let env: Record<string, string>
let worker: Running

beforeAll(async () => {
  db = await freshDatabase()
  sql = postgres(db.url, { max: 2, onnotice: () => {} })
  env = { DATABASE_URL: db.url }
  worker = start(['worker', join(FIXTURES, 'ticking.ts'), join(FIXTURES, 'daily.ts'), '--concurrency', '8'], {
    env,
  })
  await worker.waitFor(/worker .* started on/)
  await waitUntil('the schedules registered', async () => {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from podline.schedules`
    return row?.n === 3
  })
})
afterAll(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM')
    await worker.exited
  }
  await sql?.end()
  await db?.drop()
})

const dbNow = async () => {
  const [row] = await sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`
  return row?.ms as number
}

async function logicalDates(pipeline: string): Promise<number[]> {
  const rows = await sql<{ ms: number }[]>`
    select (extract(epoch from logical_date) * 1000)::float8 as ms from podline.runs
    where pipeline = ${pipeline} and logical_date is not null order by logical_date`
  return rows.map((r) => r.ms)
}

/** Waits until the database's clock is `ms` past `from`: ticks pass by that clock. */
const ticksPass = (from: number, ms: number) =>
  waitUntil(`${ms} ms to pass`, async () => (await dbNow()) > from + ms, 15_000, 100)

describe('pause and unpause', () => {
  it('a paused schedule creates no run; unpaused without catchup, the paused ticks are skipped', async () => {
    await waitUntil('a run', async () => (await logicalDates('tick-latest')).length > 0, 15_000, 100)
    const paused = await podline(['pause', 'tick-latest'], { env })
    expect(paused.stdout).toBe('tick-latest: schedule paused\n')
    const at = await dbNow()
    const before = await logicalDates('tick-latest')
    await ticksPass(at, 3_500)
    expect(await logicalDates('tick-latest')).toEqual(before)

    const listed = await podline(['schedules', '--json'], { env })
    const rows = JSON.parse(listed.stdout) as Array<{
      pipeline: string
      paused: boolean
      nextTick: string | null
    }>
    expect(rows.find((r) => r.pipeline === 'tick-latest')).toMatchObject({ paused: true, nextTick: null })

    const resumedAfter = await dbNow()
    expect((await podline(['unpause', 'tick-latest'], { env })).stdout).toBe(
      'tick-latest: schedule unpaused\n',
    )
    await waitUntil(
      'a run after unpause',
      async () => (await logicalDates('tick-latest')).length > before.length,
      15_000,
      100,
    )
    const after = (await logicalDates('tick-latest')).slice(before.length)
    // Nothing for the paused seconds: the first run after is a tick after the unpause.
    expect(after[0]).toBeGreaterThan(resumedAfter)
  }, 40_000)

  it('unpaused with catchup, the ticks missed while paused are created', async () => {
    expect((await podline(['pause', 'tick-catchup'], { env })).code).toBe(0)
    await ticksPass(await dbNow(), 3_500)
    expect((await podline(['unpause', 'tick-catchup'], { env })).code).toBe(0)
    const resumedAt = await dbNow()
    await waitUntil(
      'the missed ticks',
      async () => (await logicalDates('tick-catchup')).at(-1)! >= resumedAt - 1000,
      15_000,
      100,
    )
    const dates = await logicalDates('tick-catchup')
    expect(dates.slice(1).map((d, i) => (d - (dates[i] as number)) / 1000)).toEqual(
      dates.slice(1).map(() => 1),
    )
  }, 40_000)

  it('the schedules table names each schedule; pausing a pipeline without one says so', async () => {
    const listed = await podline(['schedules'], { env })
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(
      /^PIPELINE\s+CRON\s+ZONE\s+NEXT TICK\s+LAST LOGICAL DATE\s+CATCHUP\s+PAUSED/,
    )
    expect(listed.stdout).toMatch(
      // The last logical date is "-" unless the suite runs across 03:00 in Paris, when the live tick fires.
      /daily-report\s+0 3 \* \* \*\s+Europe\/Paris\s+\d{4}-\d\d-\d\dT03:00:00\+0[12]:00\s+(-|\d{4}-\d\d-\d\dT03:00:00\+0[12]:00)\s+no\s+no/,
    )
    const missing = await podline(['pause', 'nope'], { env })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('pipeline "nope" has no schedule')
  })
})

describe('backfill', () => {
  it('creates one run per tick of the range, at most --max-active open at once; twice creates nothing new', async () => {
    const now = await dbNow()
    const from = new Date(now - 8 * 86_400_000).toISOString()
    const to = new Date(now - 86_400_000).toISOString()
    const first = await podline(
      ['backfill', 'daily-report', '--from', from, '--to', to, '--max-active', '2', '--json'],
      { env },
    )
    expect(first.code, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ ticks: 7, existing: 0, toCreate: 7, maxActive: 2 })
    await waitUntil(
      'the backfill to finish',
      async () => {
        const [row] = await sql<{ n: number }[]>`
          select count(*)::int as n from podline.runs where pipeline = 'daily-report' and state = 'success'
            and logical_date between ${from} and ${to}`
        return row?.n === 7
      },
      30_000,
      100,
    )
    const runs = await sql<{ created: number; finished: number; date: string; logical: Date }[]>`
      select (extract(epoch from created_at) * 1000)::float8 as created,
             (extract(epoch from finished_at) * 1000)::float8 as finished,
             params->>'date' as date, logical_date as logical
      from podline.runs where pipeline = 'daily-report' and logical_date between ${from} and ${to}
      order by logical_date`
    // Never more than two open at once: at each creation, count the runs open at that instant.
    const overlap = Math.max(
      ...runs.map((r) => runs.filter((o) => o.created <= r.created && r.created < o.finished).length),
    )
    expect(overlap).toBeLessThanOrEqual(2)
    expect(overlap).toBe(2)
    // One run per day, each with its local date (03:00 in Paris) as params.
    expect(new Set(runs.map((r) => r.date)).size).toBe(7)

    const again = await podline(['backfill', 'daily-report', '--from', from, '--to', to], { env })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toMatch(/7 ticks from .*; every one already has a run: nothing new to create/)
    await waitUntil('the second request to be done', async () => {
      const open = await sql`select 1 from podline.backfills where done_at is null`
      return open.length === 0
    })
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from podline.runs
      where pipeline = 'daily-report' and logical_date between ${from} and ${to}`
    expect(count?.n).toBe(7)

    const runsJson = JSON.parse(
      (await podline(['runs', '--pipeline', 'daily-report', '--json'], { env })).stdout,
    )
    const inRange = (r: { logicalDate: string }) => r.logicalDate >= from && r.logicalDate <= to
    expect(
      runsJson
        .filter(inRange)
        .map((r: { logicalDate: string }) => r.logicalDate)
        .sort(),
    ).toEqual(runs.map((r) => new Date(r.logical).toISOString()))
  }, 60_000)

  it('refuses a range in the future, or a pipeline without a schedule, naming the fix', async () => {
    const future = await podline(['backfill', 'daily-report', '--from', '2020-01-01', '--to', '2999-01-01'], {
      env,
    })
    expect(future.code).toBe(2)
    expect(future.stderr).toContain('is in the future; a backfill covers past ticks')
    const none = await podline(['backfill', 'nope', '--from', '2020-01-01', '--to', '2020-01-02'], { env })
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('pipeline "nope" has no schedule to backfill')
  })
})
