/// <reference lib="dom" />
// The callbacks of evaluate() run in the page.
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitUntil } from '@podline/runner/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { start } from '../../../../apps/cli/src/__tests__/cli.js'
import { launchChromium } from '../testing/chromium.js'
import { startUi, type UiFixture } from './harness.js'

/** Screenshots land here (git-ignored); docs/ui/*.png are copies of them. */
const SHOTS = new URL('../../test-results/', import.meta.url).pathname

let f: UiFixture
let browser: Browser

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true })
  ;[f, browser] = await Promise.all([startUi(), launchChromium()])
})
afterAll(async () => {
  await browser?.close()
  await f?.close()
})

/** What the UI's Content-Security-Policy refused in a test's pages: each page must work within it. */
let refused: string[] = []
beforeEach(() => {
  refused = []
})
afterEach(() => {
  expect(refused).toEqual([])
})
function watchPolicy(p: Page): Page {
  p.on('console', (m) => {
    if (m.type() === 'error' && m.text().includes('Content Security Policy')) refused.push(m.text())
  })
  return p
}

async function page(path: string): Promise<Page> {
  const p = watchPolicy(await browser.newPage({ viewport: { width: 1280, height: 860 } }))
  // Deadlines, not sleeps: generous, since this file shares two cores with the suites that drive
  // workers at full speed, and a starved page, UI server or worker is slow, not wrong.
  p.setDefaultTimeout(30_000)
  // Confirmation dialogs (cancel, retry) are answered yes.
  p.on('dialog', (d) => void d.accept())
  await p.goto(`${f.url}${path}`)
  return p
}

/** Triggers `pipeline` and opens the new run's page. */
async function openNewRun(pipeline: string, params?: unknown): Promise<{ runId: string; p: Page }> {
  const runId = await f.trigger(pipeline, params)
  return { runId, p: await page(`/runs/${runId}`) }
}

const stateOf = (p: Page, task: string) => p.getAttribute(`[data-testid="task-${task}"]`, 'data-state')

/** Waits until the page's graph shows `task` in `state`. */
const untilState = (p: Page, task: string, state: string) =>
  waitUntil(`${task} to be ${state}`, async () => (await stateOf(p, task)) === state, 30_000)

describe('the UI in Chromium', () => {
  it('lists a triggered run; its graph shows every task and turns green live as the worker completes them', async () => {
    const gate = join(tmpdir(), `podline-ui-gate-${process.pid}`)
    const runs = await page('/')
    await runs.getByTestId('live').getByText('live').waitFor()
    const runId = await f.trigger('ui-diamond', { rows: 5, gate })
    // Live: the row appears without a reload.
    await runs.locator(`tr[data-run="${runId}"]`).waitFor({ timeout: 30_000 })
    await runs.locator(`tr[data-run="${runId}"] a`).click()
    await runs.getByTestId('run-id').getByText(runId).waitFor()
    for (const task of ['extract', 'clean', 'enrich', 'load'])
      await runs.getByTestId(`task-${task}`).waitFor({ timeout: 30_000 })
    await untilState(runs, 'extract', 'running')
    expect(await stateOf(runs, 'load')).toBe('pending')
    // The log of a running task is tailed: its line shows while it still runs.
    await runs.getByTestId('task-extract').click()
    await runs.getByTestId('task-log').getByText('extracting').waitFor()
    expect(await runs.getByText('(live)').count()).toBe(1)
    await runs.screenshot({ path: join(SHOTS, 'run-running.png') })
    writeFileSync(gate, '')
    for (const task of ['extract', 'clean', 'enrich', 'load']) await untilState(runs, task, 'success')
    const colour = await runs.getByTestId('task-load').evaluate((el) => getComputedStyle(el).backgroundColor)
    expect(colour).toBe('rgb(34, 197, 94)')
    await runs.getByTestId('xcom-return_value').getByText('"rows": 5').waitFor()
    // What a task printed is text, never markup.
    expect(await runs.getByTestId('xcom-return_value').textContent()).toContain('<b>not bold</b>')
    // The timeline has a bar per task; clean and enrich ran side by side, after extract.
    for (const task of ['extract', 'clean', 'enrich', 'load'])
      await runs.getByTestId(`timeline-${task}`).waitFor()
    const left = (task: string) =>
      runs
        .getByTestId(`timeline-${task}`)
        .locator('.timeline-bar')
        .evaluate((el) => el.getBoundingClientRect().left)
    expect(await left('clean')).toBeGreaterThan(await left('extract'))
    expect(await left('load')).toBeGreaterThan(await left('clean'))
    await runs.screenshot({ path: join(SHOTS, 'run.png'), fullPage: true })
    await runs.close()
  })

  it("shows a failing task's log and stack, escaped", async () => {
    const { p } = await openNewRun('ui-fail')
    await untilState(p, 'explode', 'failed')
    await p.getByTestId('task-explode').click()
    await p.getByTestId('task-error').getByText('boom: the disk is full').waitFor()
    expect(await p.getByTestId('task-stack').textContent()).toContain('at diskIsFull')
    await p.getByTestId('task-log').getByText('about to fail <script>alert(1)</script>').waitFor()
    expect(await p.locator('[data-testid="task-log"] script').count()).toBe(0)
    // The run's onFailure, queued when it failed, shows with its state once it has run.
    await waitUntil(
      'onFailure to show as done',
      async () => {
        await p.reload()
        const shown = await p
          .getByTestId('callback-failure')
          .textContent({ timeout: 5000 })
          .catch(() => '')
        return shown?.startsWith('success 1 try') ?? false
      },
      30_000,
    )
    await p.getByTestId('task-explode').click()
    await p.screenshot({ path: join(SHOTS, 'failed-task.png'), fullPage: true })
    await p.close()
  })

  it('a waiting step takes a signal from its panel: a payload its schema refuses is shown why, a good one starts what follows', async () => {
    const { p } = await openNewRun('ui-approval')
    await p.getByTestId('task-approval').click()
    await p.getByTestId('signal-payload').fill('{"approved": "yes"}')
    await p.getByTestId('signal-send').click()
    await p
      .getByTestId('signal-problem')
      .getByText("payload: must have required property 'by'", { exact: false })
      .waitFor()
    await p.getByTestId('signal-payload').fill('{"approved": true, "by": "ana"}')
    await p.getByTestId('signal-send').click()
    // Taken: the step ends (its form goes with its waiting) and the task after it runs.
    await untilState(p, 'approval', 'success')
    await untilState(p, 'publish', 'success')
    await p.close()
  })

  it('creates a pool, changes its slots and deletes it; a bad name is refused with the reason', async () => {
    const p = await page('/pools')
    await p.getByTestId('new-pool-name').fill('bad name')
    await p.getByTestId('new-pool-create').click()
    await p.getByTestId('pool-error').getByText('invalid pool name "bad name"', { exact: false }).waitFor()
    await p.getByTestId('new-pool-name').fill('warehouse')
    await p.getByTestId('new-pool-slots').fill('3')
    await p.getByTestId('new-pool-description').fill('the warehouse')
    await p.getByTestId('new-pool-create').click()
    await p.getByTestId('pool-warehouse').waitFor()
    await p.getByTestId('pool-warehouse-slots').fill('5')
    await p.getByTestId('pool-warehouse-save').click()
    await waitUntil('the new slots to be stored', async () => {
      const pools = (await (await fetch(`${f.url}/api/pools`)).json()) as {
        pools: Array<{ name: string; slots: number }>
      }
      return pools.pools.find((x) => x.name === 'warehouse')?.slots === 5
    })
    await p.screenshot({ path: join(SHOTS, 'pools.png'), fullPage: true })
    await p.getByTestId('pool-warehouse-delete').click()
    await p.getByTestId('pool-warehouse').waitFor({ state: 'detached' })
    await p.close()
  })

  it("refuses invalid params in the trigger form with the schema's message, triggers with valid ones, pauses a schedule", async () => {
    const p = await page('/pipelines')
    await p.getByTestId('open-trigger-ui-diamond').click()
    const form = p.getByTestId('trigger-ui-diamond')
    await form.locator('input[name="rows"]').fill('0')
    await form.getByRole('button', { name: 'Trigger a run' }).click()
    await form.getByTestId('trigger-error').getByText('rows: must be >= 1').waitFor()
    // The field the schema refused is marked with its message.
    await form.getByTestId('param-error-rows').getByText('must be >= 1').waitFor()
    await p.screenshot({ path: join(SHOTS, 'pipelines.png'), fullPage: true })
    const daily = p.getByTestId('pipeline-ui-daily')
    await daily.getByText(/next tick/).waitFor()
    await daily.getByTestId('pause-ui-daily').click()
    await daily.getByRole('button', { name: 'Unpause' }).waitFor()
    expect(await daily.getByText(/next tick/).count()).toBe(0)
    await daily.getByTestId('pause-ui-daily').click()
    await daily.getByText(/next tick/).waitFor()
    // A pipeline on assets has no trigger form: it names its assets, linked.
    const consumer = p.getByTestId('pipeline-ui-orders-per-customer')
    await consumer.getByTestId('on-assets-ui-orders-per-customer').getByText('Runs on all of').waitFor()
    await consumer.getByRole('link', { name: 'ui/crm/customers' }).waitFor()
    expect(await consumer.getByTestId('open-trigger-ui-orders-per-customer').count()).toBe(0)
    await form.locator('input[name="rows"]').fill('2')
    await form.getByRole('button', { name: 'Trigger a run' }).click()
    await p.waitForURL(/\/runs\/[0-9a-f-]{36}$/)
    await p.getByTestId('task-load').waitFor()
    await untilState(p, 'load', 'success')
    await p.close()
  })

  it('cancels a running run and retries it, after confirmation', async () => {
    const { p } = await openNewRun('ui-slow')
    await untilState(p, 'wait', 'running')
    await p.getByTestId('cancel').click()
    await untilState(p, 'wait', 'cancelled')
    await p.locator('h1 [data-state="cancelled"]').waitFor()
    await p.getByTestId('retry').click()
    await untilState(p, 'wait', 'running')
    await p.getByTestId('task-wait').click()
    await p.getByTestId('task-panel').locator('tbody tr').nth(1).waitFor()
    await p.getByTestId('cancel').click()
    await untilState(p, 'wait', 'cancelled')
    await p.close()
  })
  it('marks a cached task with the run its output came from, linked', async () => {
    const first = await openNewRun('ui-cached')
    await untilState(first.p, 'compute', 'success')
    await first.p.close()
    const { p } = await openNewRun('ui-cached')
    await untilState(p, 'compute', 'success')
    await p.getByTestId('task-compute').click()
    const cachedNote = p.getByTestId('task-cached')
    await cachedNote.getByText('the task did not run').waitFor()
    await cachedNote.getByRole('link', { name: first.runId.slice(0, 8) }).click()
    await p.getByTestId('run-id').getByText(first.runId).waitFor()
    await p.close()
  })

  it('filters the runs by state, each row in its state colour', async () => {
    const p = await page('/')
    await p.locator('tr[data-run]').nth(3).waitFor()
    await p.screenshot({ path: join(SHOTS, 'runs.png') })
    await p.getByTestId('filter-state').selectOption('failed')
    await p.waitForURL(/state=failed/)
    await waitUntil('only failed runs', async () => {
      const states = await p
        .locator('tr[data-run] [data-state]')
        .evaluateAll((els) => els.map((e) => e.textContent))
      return states.length > 0 && states.every((s) => s === 'failed')
    })
    const colour = await p
      .locator('tr[data-run] [data-state]')
      .first()
      .evaluate((el) => getComputedStyle(el).backgroundColor)
    expect(colour).toBe('rgb(239, 68, 68)')
    await p.close()
  })

  it('shows each asset with its producer, consumers and graph; an asset page shows its events and takes one emitted; a run made by an event names it', async () => {
    const producerRun = await f.trigger('ui-load-orders', { rows: 9 })
    await f.succeeded(producerRun)
    const p = await page('/')
    await p.getByRole('navigation').getByRole('link', { name: 'Assets' }).click()
    const row = p.getByTestId('asset-ui.orders')
    await row.locator('li', { hasText: 'ui-load-orders.load' }).waitFor()
    await row.getByRole('link', { name: 'ui-orders-report' }).waitFor()
    await row.getByRole('link', { name: 'ui-orders-per-customer' }).waitFor()
    await row.getByText('with each of ui/crm/customers').waitFor()
    // Its last event, linked to the run that produced it.
    await row.getByRole('link', { name: producerRun.slice(0, 8) }).waitFor()
    // The graph: producer pipeline → asset → consumer pipelines.
    const graph = p.getByTestId('asset-graph')
    for (const node of [
      'pipeline-ui-load-orders',
      'asset-ui.orders',
      'pipeline-ui-orders-report',
      'asset-ui/crm/customers',
    ])
      await graph.getByTestId(`graph-${node}`).waitFor()
    await graph.getByTestId('graph-edge-pipeline:ui-load-orders>asset:ui.orders').waitFor()
    await graph.getByTestId('graph-edge-asset:ui.orders>pipeline:ui-orders-report').waitFor()
    await graph.getByTestId('graph-edge-asset:ui/crm/customers>pipeline:ui-orders-per-customer').waitFor()
    const x = (id: string) => graph.getByTestId(id).evaluate((el) => el.getBoundingClientRect().left)
    // Laid out left to right, in the direction of the edges.
    expect(await x('graph-asset-ui.orders')).toBeGreaterThan(await x('graph-pipeline-ui-load-orders'))
    expect(await x('graph-pipeline-ui-orders-report')).toBeGreaterThan(await x('graph-asset-ui.orders'))
    await p.screenshot({ path: join(SHOTS, 'assets.png'), fullPage: true })

    await row.getByRole('link', { name: 'ui.orders' }).click()
    await p.getByTestId('asset-name').getByText('ui.orders').waitFor()
    const events = p.getByTestId('asset-events')
    const produced = events.locator('tr', { hasText: '"rows": 9' })
    await produced.waitFor()
    expect(await produced.getByRole('link', { name: producerRun.slice(0, 8) }).getAttribute('href')).toBe(
      `/runs/${producerRun}`,
    )
    // An emitted value goes through the asset's schema on the server: refused with its message, then taken.
    await p.getByTestId('emit-payload').fill('{"date": "2026-12-09", "rows": -2}')
    await p.getByTestId('emit-send').click()
    await p.getByTestId('emit-problem').getByText('rows: must be >= 0', { exact: false }).waitFor()
    await p.getByTestId('emit-payload').fill('{"date": "2026-12-09", "rows": 21}')
    await p.getByTestId('emit-send').click()
    const emitted = events.locator('tr', { hasText: '"rows": 21' })
    await emitted.getByText('emitted').waitFor()
    const id = (await emitted.getAttribute('data-event')) ?? ''
    await p.screenshot({ path: join(SHOTS, 'asset.png'), fullPage: true })

    // The consumer's run made by that event names it on its page.
    const consumerRun = await waitUntil('a run of ui-orders-report for the emitted event', async () => {
      const { runs } = (await (
        await fetch(`${f.url}/api/runs?pipeline=ui-orders-report&limit=500`)
      ).json()) as {
        runs: Array<{ id: string }>
      }
      for (const r of runs) {
        const detail = (await (await fetch(`${f.url}/api/runs/${r.id}`)).json()) as {
          run: { assets: Record<string, { id: string }> | null }
        }
        if (detail.run.assets?.['ui.orders']?.id === id) return r.id
      }
      return undefined
    })
    await p.goto(`${f.url}/runs/${consumerRun}`)
    const made = p.getByTestId('run-asset-ui.orders')
    await made.getByText(`#${id}`).waitFor()
    await made.getByText('emitted').waitFor()
    await p.screenshot({ path: join(SHOTS, 'run-assets.png') })
    // More events than a page: the first 50 show, Older brings the rest.
    for (let count = 1; count <= 51; count++) {
      const r = await f.post(`/api/assets/${encodeURIComponent('ui/crm/customers')}/events`, { count })
      expect(r.status).toBe(201)
    }
    // A name with '/' travels as one path segment: the graph's node opens its page.
    await p.goto(`${f.url}/assets`)
    await p.getByTestId('graph-asset-ui/crm/customers').click()
    await p.getByTestId('asset-name').getByText('ui/crm/customers').waitFor()
    await p.getByTestId('asset-consumers').getByRole('link', { name: 'ui-orders-per-customer' }).waitFor()
    const rows = p.getByTestId('asset-events').locator('tbody tr')
    await rows.nth(49).waitFor()
    expect(await rows.count()).toBe(50)
    expect(await rows.first().textContent()).toContain('"count": 51')
    await p.getByTestId('older-events').click()
    await rows.nth(50).waitFor()
    expect(await rows.nth(50).textContent()).toContain('"count": 1')
    await p.getByTestId('older-events').waitFor({ state: 'detached' })
    await p.close()
  })

  it('asks for the token when it listens beyond loopback, and is live after the login form', async () => {
    const token = 'browser-login-token'
    await f.withTokenUi(token, async (url) => {
      const p = watchPolicy(await browser.newPage())
      p.setDefaultTimeout(30_000)
      await p.goto(`${url}/`)
      await p.getByLabel('UI token').fill('not the token')
      await p.getByRole('button', { name: 'Log in' }).click()
      await p.getByText('that is not the UI token').waitFor()
      await p.getByLabel('UI token').fill(token)
      await p.getByRole('button', { name: 'Log in' }).click()
      await p.locator('tr[data-run]').first().waitFor()
      // The live stream authenticates with the same HttpOnly cookie, which no script can read.
      await p.getByTestId('live').getByText('live').waitFor()
      expect(await p.evaluate(() => document.cookie)).toBe('')
      await p.close()
    })
  })

  // Last: it restarts the fixture's podline ui.
  it('a page whose stream broke resumes from its last event: transitions made meanwhile still reach it', async () => {
    const gate = join(tmpdir(), `podline-ui-gate-resume-${process.pid}`)
    const { runId, p } = await openNewRun('ui-diamond', { rows: 1, gate })
    await untilState(p, 'extract', 'running')
    const port = new URL(f.url).port
    f.ui.child.kill('SIGTERM')
    await f.ui.exited
    await p.getByTestId('live').getByText('reconnecting…').waitFor()
    // The run ends while no server is there to tell the page.
    writeFileSync(gate, '')
    await f.succeeded(runId)
    const restarted = start(['ui', '--port', port], { env: { DATABASE_URL: f.database.url } })
    f.ui = restarted
    await restarted.waitFor(/podline ui: http:\/\/\S+/)
    // No reload: only the replayed transitions can turn the graph green.
    for (const task of ['extract', 'clean', 'enrich', 'load']) await untilState(p, task, 'success')
    await p.close()
  })
})
