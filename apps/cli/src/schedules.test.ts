import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freshDatabase } from '@podline/runner/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { FIXTURES, type Running, start, tempDir, waitUntil } from './__tests__/cli.js'

const TICKING = join(FIXTURES, 'ticking.ts')

let db: Awaited<ReturnType<typeof freshDatabase>>
let sql: postgres.Sql
let env: Record<string, string>
let side: string
const workers: Running[] = []

beforeAll(async () => {
  db = await freshDatabase()
  sql = postgres(db.url, { max: 2, onnotice: () => {} })
  side = join(tempDir(), 'side-effects.txt')
  writeFileSync(side, '')
  env = { DATABASE_URL: db.url, PODLINE_TEST_SIDE_FILE: side }
})
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
  await sql?.end()
  await db?.drop()
})

async function startWorker(): Promise<Running> {
  const w = start(['worker', TICKING, '--concurrency', '4'], { env })
  workers.push(w)
  await w.waitFor(/worker .* started on/)
  return w
}

/** The logical dates of a pipeline's runs, in epoch milliseconds, oldest first. */
async function logicalDates(pipeline: string): Promise<number[]> {
  const rows = await sql<{ ms: number }[]>`
    select (extract(epoch from logical_date) * 1000)::float8 as ms from podline.runs
    where pipeline = ${pipeline} and logical_date is not null order by logical_date`
  return rows.map((r) => r.ms)
}

/** How long after its tick each run of a pipeline was created (created_at is the creating transaction's now()). */
async function lags(pipeline: string): Promise<number[]> {
  const rows = await sql<{ ms: number }[]>`
    select (extract(epoch from created_at - logical_date) * 1000)::float8 as ms from podline.runs
    where pipeline = ${pipeline} and logical_date is not null order by logical_date`
  return rows.map((r) => r.ms)
}

const runCount = async (pipeline: string) => (await logicalDates(pipeline)).length

/** The gaps between consecutive logical dates, in seconds. */
const gaps = (dates: number[]) => dates.slice(1).map((d, i) => (d - (dates[i] as number)) / 1000)

it('3 workers on an every-second schedule: one run per logical date, none missed between the first and the last', async () => {
  const fleet = await Promise.all([startWorker(), startWorker(), startWorker()])
  await waitUntil('six scheduled runs', async () => (await runCount('tick-catchup')) >= 6, 30_000, 100)
  for (const w of fleet) w.child.kill('SIGTERM')
  expect(await Promise.all(fleet.map((w) => w.exited))).toEqual([0, 0, 0])

  // Every second from the first to the last has its run, and only one.
  const dates = await logicalDates('tick-catchup')
  expect(dates.length).toBeGreaterThanOrEqual(6)
  expect(gaps(dates)).toEqual(dates.slice(1).map(() => 1))
  // Without catchup, one run per tick too, each the latest tick when it was created (a worker stalled
  // past a whole tick could skip one, so the gaps are whole seconds rather than exactly one).
  const latest = await logicalDates('tick-latest')
  expect(latest.length).toBeGreaterThanOrEqual(5)
  for (const gap of gaps(latest)) expect(Number.isInteger(gap) && gap >= 1).toBe(true)
  // Created within its own tick's second: no later tick had come when the run was made. Both
  // timestamps are the database's, of the transaction that chose the tick, so this is not a speed check.
  for (const lag of await lags('tick-latest')) expect(lag).toBeLessThan(1000)
  // Each run's task ran once, with its tick as ctx.schedule and as params (through schedule.params).
  const ran = await sql<{ pipeline: string; n: number }[]>`
    select pipeline, count(*)::int as n from podline.runs where state = 'success' group by pipeline order by pipeline`
  const lines = readFileSync(side, 'utf8').trim().split('\n')
  expect(new Set(lines).size).toBe(lines.length)
  expect(lines).toHaveLength(ran.reduce((sum, r) => sum + r.n, 0))
  for (const line of lines) {
    const [, logicalDate, intervalStart, tick] = line.split(' ')
    expect(tick).toBe(logicalDate)
    // Written in the schedule's zone (Paris: +01:00 or +02:00), the interval one tick long.
    expect(logicalDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00$/)
    expect(Date.parse(logicalDate as string) - Date.parse(intervalStart as string)).toBe(1000)
  }
}, 60_000)

it('all workers killed for a few ticks, one restarted: with catchup the missed ticks are created, without it only the latest', async () => {
  const first = await startWorker()
  const before = await runCount('tick-catchup')
  await waitUntil('a scheduled run', async () => (await runCount('tick-catchup')) > before, 30_000, 100)
  first.child.kill('SIGKILL')
  await first.exited
  const [catchupBefore, latestBefore] = [
    (await logicalDates('tick-catchup')).at(-1) as number,
    (await logicalDates('tick-latest')).at(-1) as number,
  ]
  // Down for at least four ticks, by the database's clock.
  await waitUntil(
    'four ticks to pass',
    async () => {
      const [row] = await sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`
      return (row?.ms ?? 0) > Math.max(catchupBefore, latestBefore) + 4_500
    },
    10_000,
    100,
  )
  const second = await startWorker()
  await waitUntil(
    'runs after the restart',
    async () =>
      (await logicalDates('tick-latest')).filter((d) => d > latestBefore).length >= 2 &&
      (await logicalDates('tick-catchup')).filter((d) => d > catchupBefore).length >= 6,
    30_000,
    100,
  )
  second.child.kill('SIGTERM')
  expect(await second.exited).toBe(0)

  // Catchup: every second since the first run has one, the outage included.
  const caught = await logicalDates('tick-catchup')
  expect(gaps(caught)).toEqual(caught.slice(1).map(() => 1))
  // Catchup created the outage's ticks late; without it, the ticks of the outage were skipped and the
  // run after it was the latest tick when it was created, as every run is.
  expect(Math.max(...(await lags('tick-catchup')))).toBeGreaterThan(3000)
  const latest = await logicalDates('tick-latest')
  const afterOutage = latest.find((d) => d > latestBefore) as number
  expect((afterOutage - latestBefore) / 1000).toBeGreaterThanOrEqual(4)
  for (const lag of await lags('tick-latest')) expect(lag).toBeLessThan(1000)
}, 60_000)
