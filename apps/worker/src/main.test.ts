import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freshDatabase, waitUntil } from '@podline/runner/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const PIPELINE = fileURLToPath(new URL('./__tests__/slow-pipeline.ts', import.meta.url))

let db: Awaited<ReturnType<typeof freshDatabase>>
let child: ChildProcess | undefined
const lines: Array<Record<string, unknown>> = []

beforeAll(async () => {
  db = await freshDatabase()
})
afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL')
  await db?.drop()
})

function waitForLog(msg: string): Promise<Record<string, unknown>> {
  return waitUntilLogged(`"${msg}"`, (l) => l.msg === msg)
}

/** The first line the worker logged that matches; fails at once if the worker exits first. */
function waitUntilLogged(
  what: string,
  match: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return waitUntil(
    `the worker to log ${what}`,
    () => {
      const found = lines.find(match)
      if (found) return found
      if (child?.exitCode !== null)
        throw new Error(`worker exited before it logged ${what}: ${JSON.stringify(lines)}`)
      return undefined
    },
    60_000,
    20,
  )
}

it('serves /healthz, /readyz and /metrics, logs JSON, and drains on SIGTERM (readyz 503, exit 0)', async () => {
  child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      PODLINE_PIPELINES: PIPELINE,
      PODLINE_HTTP_PORT: '0',
      PODLINE_CONCURRENCY: '2',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let buffered = ''
  child.stdout?.on('data', (d) => {
    buffered += d
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    for (const p of parts) lines.push(JSON.parse(p))
  })
  const exited = new Promise<number | null>((resolve) => child?.on('close', (code) => resolve(code)))
  const { port } = await waitForLog('http listening')
  const base = `http://127.0.0.1:${port}`
  await waitForLog('worker ready')

  expect((await fetch(`${base}/healthz`)).status).toBe(200)
  expect((await fetch(`${base}/readyz`)).status).toBe(200)

  // Queue a run straight into the database, as `podline trigger` would.
  const { latestPlan, openStore, triggerPlan } = await import('@podline/runner')
  const store = await openStore({ databaseUrl: db.url, migrate: false })
  const plan = await latestPlan(store.database, 'worker-app-slow')
  // One run finishes first, for the duration histogram; one waits for a version no worker serves.
  const first = await triggerPlan(store.database, plan!, {})
  await waitForLog('task nap success')
  await triggerPlan(store.database, { ...plan!, version: 'unserved' }, {})
  const runId = await triggerPlan(store.database, plan!, {})
  // A schedule whose version no worker serves: its first tick, an hour back, is still due.
  const { sql: raw } = await import('drizzle-orm')
  await store.database.rows(raw`
    insert into podline.schedules (pipeline, version, cron, timezone, catchup, max_catchup, ticks_after)
    values ('worker-app-unserved', 'v0', '0 * * * *', 'UTC', false, 1, date_trunc('hour', now()) - interval '90 minutes')`)
  await store.close()
  await waitUntilLogged(
    `run ${runId}'s task started`,
    (l) => l.msg === 'task nap started' && l.runId === runId,
  )

  const metrics = await (await fetch(`${base}/metrics`)).text()
  expect(metrics).toMatch(/^podline_task_runs_claimed_total 2$/m)
  expect(metrics).toMatch(/^podline_tasks_running 1$/m)
  expect(metrics).toMatch(/^podline_queue_depth\{pipeline="worker-app-slow"\} 1$/m)
  expect(metrics).toMatch(
    /^podline_queue_oldest_age_seconds\{pipeline="worker-app-slow"\} \d+(\.\d+)?(e-\d+)?$/m,
  )
  expect(metrics).toMatch(
    /^podline_task_duration_seconds_count\{pipeline="worker-app-slow",task="nap",state="success"\} 1$/m,
  )
  expect(metrics).toMatch(/^podline_pods\{phase="running"\} 0$/m)
  const lag = metrics.match(/^podline_schedule_lag_seconds\{pipeline="worker-app-unserved"\} (\S+)$/m)
  expect(Number(lag?.[1]), 'due since the hour before the last').toBeGreaterThanOrEqual(3600)
  expect(metrics).toMatch(/^podline_claim_duration_seconds_count [1-9]\d*$/m)
  expect(metrics).toContain('process_cpu_user_seconds_total')
  expect(first).not.toBe(runId)

  child.kill('SIGTERM')
  await waitForLog('draining')
  expect((await fetch(`${base}/readyz`)).status).toBe(503)
  expect((await fetch(`${base}/healthz`)).status).toBe(200)
  expect(await exited).toBe(0)

  const finished = lines.find((l) => l.msg === 'task nap success' && l.runId === runId)
  expect(finished).toMatchObject({ runId, task: 'nap', attempt: 1, state: 'success', level: 30 })
  expect(lines.at(-1)).toMatchObject({ msg: 'worker stopped', signal: 'SIGTERM' })
  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  const [run] = await sql`select state from podline.runs where id = ${runId}`
  await sql.end()
  expect(run?.state).toBe('success')
})

it('refuses to start without DATABASE_URL (exit 2, says what to set)', async () => {
  const env = { ...process.env }
  delete env.DATABASE_URL
  const r = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  r.stdout.on('data', (d) => {
    out += d
  })
  const code = await new Promise((resolve) => r.on('close', resolve))
  expect(code).toBe(2)
  expect(out).toContain('DATABASE_URL is not set')
})
