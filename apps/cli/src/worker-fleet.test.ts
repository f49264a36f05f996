import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freshDatabase } from '@podline/runner/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { FIXTURES, podline, type Running, start, tempDir, waitUntil } from './__tests__/cli.js'

const RUNS = Number(process.env.FLEET_RUNS ?? 200)
const TASKS = ['a', 'b', 'c', 'd', 'e']

let db: Awaited<ReturnType<typeof freshDatabase>>
let sql: postgres.Sql
const workers: Running[] = []

beforeAll(async () => {
  db = await freshDatabase()
  sql = postgres(db.url, { max: 2, onnotice: () => {} })
})
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
  await sql?.end()
  await db?.drop()
})

it(`3 workers run ${RUNS} runs of a 5-task pipeline: every task exactly once, then drain on SIGTERM`, async () => {
  const side = join(tempDir(), 'side-effects.txt')
  writeFileSync(side, '')
  const env = { DATABASE_URL: db.url, PODLINE_TEST_SIDE_FILE: side }
  for (let i = 0; i < 3; i++)
    workers.push(start(['worker', join(FIXTURES, 'five-tasks.ts'), '--concurrency', '4'], { env }))
  await Promise.all(workers.map((w) => w.waitFor(/worker .* started on/)))

  // One run through the CLI verb, the rest straight into the queue (200 processes would only measure node's start-up).
  const first = await podline(['trigger', 'fleet-five', '--json'], { env })
  expect(first.code, first.stderr).toBe(0)
  const { createRun } = await import('./__tests__/create-runs.js')
  const runIds = [
    JSON.parse(first.stdout).runId as string,
    ...(await createRun(db.url, 'fleet-five', RUNS - 1)),
  ]
  expect(new Set(runIds).size).toBe(RUNS)

  // Wait until every run has ended (the last one with --wait through the CLI).
  const last = await podline(['trigger', 'fleet-five', '--wait', '--json'], { env })
  expect(last.code, last.stderr).toBe(0)
  runIds.push(JSON.parse(last.stdout).runId)
  await waitUntil(
    'every run to end',
    async () => {
      const [row] =
        await sql`select count(*)::int as n from podline.runs where state in ('queued', 'running')`
      return row?.n === 0
    },
    120_000,
    200,
  )

  const states = await sql`select state, count(*)::int as n from podline.runs group by state`
  expect(states.map((s) => ({ ...s }))).toEqual([{ state: 'success', n: RUNS + 1 }])

  // From the events table: exactly one transition to running per task run, and it was attempt 1.
  const running = await sql`
    select run_id, task, count(*)::int as n, max(attempt)::int as attempt
    from podline.events where to_state = 'running' and task is not null group by run_id, task`
  expect(running).toHaveLength((RUNS + 1) * TASKS.length)
  expect(running.every((r) => r.n === 1 && r.attempt === 1)).toBe(true)

  // From the tasks' own side effects: each (run, task) line written exactly once.
  const lines = readFileSync(side, 'utf8').trim().split('\n')
  expect(lines).toHaveLength((RUNS + 1) * TASKS.length)
  expect(new Set(lines).size).toBe(lines.length)
  for (const id of runIds) for (const t of TASKS) expect(lines).toContain(`${id} ${t}`)

  // The work was shared: more than one worker ran tasks.
  const busy = workers.filter((w) => /attempt 1 started/.test(w.output()))
  expect(busy.length).toBeGreaterThan(1)

  for (const w of workers) w.child.kill('SIGTERM')
  const codes = await Promise.all(workers.map((w) => w.exited))
  expect(codes).toEqual([0, 0, 0])
  for (const w of workers) expect(w.output()).toMatch(/worker .* stopped \(SIGTERM\)/)
})
