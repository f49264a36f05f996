import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { openDatabase, triggerPipeline } from '@podline/runner'
import { launchChromium, type Page } from '@podline/ui/testing'
import postgres from 'postgres'
import { bulkTrigger } from './bulk-trigger.js'
import { podlineDatabase } from './databases.js'
import { fanOf, single } from './pipelines.js'
import type { BenchDatabase } from './server.js'
import { median, quantile } from './stats.js'
import { fixed, formatTable } from './table.js'

/*
 * The runs page in Chromium against `podline ui` on a store of 100,000 runs, and the same page on a
 * store of 100 runs measured in the same run: the keyset listing should make the page cost the same
 * whatever the store holds, so the ratio is the figure (about 1 when it does). Each load is from
 * navigation to the page showing its 50 rows; the first page's and a deep page's API answers are
 * timed too. About a minute on 2 cores, most of it inserting the runs.
 */
const CLI = fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url))
const LOADS = 9
const API_CALLS = 100
const BIG = Number(process.env.BENCH_UI_RUNS ?? 100_000)

async function startUi(url: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [CLI, 'ui', '--port', '0'], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const base = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d) => {
      out += d
      const m = out.match(/podline ui: (http:\/\/\S+)/)
      if (m?.[1]) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`podline ui exited (${code}) before listening`)))
  })
  return { child, base }
}

async function timeApi(url: string): Promise<number> {
  const start = performance.now()
  const r = await fetch(url)
  await r.json()
  return performance.now() - start
}

/** `podline ui` on the database and one Chromium page, for `fn`; both stopped after, the database dropped. */
async function withUi<T>(db: BenchDatabase, fn: (page: Page, base: string) => Promise<T>): Promise<T> {
  const { child, base } = await startUi(db.url)
  const browser = await launchChromium()
  try {
    return await fn(await browser.newPage(), base)
  } finally {
    await browser.close()
    child.kill('SIGTERM')
    await db.drop()
  }
}

/** The median of LOADS navigations to `url` (the first left out: it warms the caches), each until `ready`. */
async function pageLoad(page: Page, url: string, ready: () => Promise<void>): Promise<number> {
  const loads: number[] = []
  for (let i = 0; i < LOADS; i++) {
    const start = performance.now()
    await page.goto(url)
    await ready()
    loads.push(performance.now() - start)
  }
  return median(loads.slice(1))
}

/** A run page (of a run no worker takes): from navigation until the graph shows its last task. */
async function measureRunPage(tasks: number) {
  const db = await podlineDatabase()
  const database = await openDatabase({ databaseUrl: db.url, poolSize: 1 })
  const runId = await triggerPipeline(database, fanOf(tasks - 2), {}).finally(() => database.close())
  return withUi(db, async (page, base) => {
    const load = await pageLoad(page, `${base}/runs/${runId}`, () =>
      page.getByTestId('task-join').waitFor({ state: 'attached' }),
    )
    const api: number[] = []
    for (let i = 0; i < API_CALLS; i++) api.push(await timeApi(`${base}/api/runs/${runId}`))
    return { tasks, page: load, api: median(api), apiP99: quantile(api, 0.99) }
  })
}

async function measure(runs: number) {
  const db = await podlineDatabase()
  await bulkTrigger(db.url, single, runs)
  // Settled as a store that has lived with its runs would be: no autovacuum pass over fresh rows mid-measure.
  const admin = postgres(db.url, { max: 1, onnotice: () => {} })
  await admin`vacuum analyze podline.runs, podline.task_runs, podline.events`.finally(() => admin.end())
  return withUi(db, async (page, base) => {
    const load = await pageLoad(page, `${base}/`, () => page.locator('tr[data-run]').nth(49).waitFor())
    const first = (await (await fetch(`${base}/api/runs`)).json()) as { runs: unknown[] }
    // A page from the middle of the history: the keyset starts after a run half way down.
    const sql = postgres(db.url, { max: 1, onnotice: () => {} })
    const [middle] = await sql`
      select id from podline.runs order by created_at, id offset ${Math.floor(runs / 2)} limit 1`.finally(
      () => sql.end(),
    )
    const firstApi: number[] = []
    const deepApi: number[] = []
    for (let i = 0; i < API_CALLS; i++) {
      firstApi.push(await timeApi(`${base}/api/runs`))
      deepApi.push(await timeApi(`${base}/api/runs?after=${middle?.id}`))
    }
    if (first.runs.length !== 50) throw new Error(`the first page has ${first.runs.length} runs, not 50`)
    return {
      runs,
      page: load,
      firstApi: median(firstApi),
      firstApiP99: quantile(firstApi, 0.99),
      deepApi: median(deepApi),
      deepApiP99: quantile(deepApi, 0.99),
    }
  })
}

const small = await measure(100)
const big = await measure(BIG)
process.stdout.write(
  `${formatTable(
    [
      'runs in the store',
      'runs page in Chromium (ms)',
      'GET /api/runs p50 / p99 (ms)',
      'a page half way down p50 / p99 (ms)',
    ],
    [small, big].map((m) => [
      String(m.runs),
      fixed(m.page, 1),
      `${fixed(m.firstApi, 1)} / ${fixed(m.firstApiP99, 1)}`,
      `${fixed(m.deepApi, 1)} / ${fixed(m.deepApiP99, 1)}`,
    ]),
  )}\n`,
)
process.stdout.write(
  `ratio ${BIG} runs / 100 runs: page ${fixed(big.page / small.page, 2)}, first page API ${fixed(big.firstApi / small.firstApi, 2)}, deep page API ${fixed(big.deepApi / small.deepApi, 2)}\n`,
)

const smallRun = await measureRunPage(20)
const bigRun = await measureRunPage(2000)
process.stdout.write(
  `${formatTable(
    ['tasks in the run', 'run page in Chromium (ms)', 'GET /api/runs/:id p50 / p99 (ms)'],
    [smallRun, bigRun].map((m) => [
      String(m.tasks),
      fixed(m.page, 1),
      `${fixed(m.api, 1)} / ${fixed(m.apiP99, 1)}`,
    ]),
  )}\n`,
)
process.stdout.write(
  `ratio 2,000 tasks / 20 tasks: page ${fixed(bigRun.page / smallRun.page, 2)}, API ${fixed(bigRun.api / smallRun.api, 2)}\n`,
)
