/// <reference lib="dom" />
// The callbacks of evaluate() run in the page.
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runStatus } from '@podline/runner'
import { waitUntil } from '@podline/runner/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../testing/chromium.js'
import { startUi, type UiFixture } from './harness.js'

let f: UiFixture
let browser: Browser

beforeAll(async () => {
  ;[f, browser] = await Promise.all([startUi(), launchChromium()])
})
afterAll(async () => {
  await browser?.close()
  await f?.close()
})

/** Two full pages of the log (5,000 lines each) and a part of a third. */
const LINES = 12_345
const PAGE = 5000

interface LogLine {
  id: string
  message: string
}
interface LogPage {
  lines: LogLine[]
  total: number
  offset: number
}

const logsOf = async (runId: string, query = '') => {
  const r = await fetch(`${f.url}/api/runs/${runId}/tasks/talk/logs${query}`)
  return { status: r.status, body: (await r.json()) as LogPage & { error?: string } }
}
const page = async (runId: string, query = ''): Promise<LogPage> => {
  const r = await logsOf(runId, query)
  expect(r.status, r.body.error).toBe(200)
  return r.body
}

const chattyRun = (params: { lines: number; gate?: string; more?: number }) => f.trigger('ui-chatty', params)

const numbered = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`)

async function openTask(path: string): Promise<Page> {
  // en-US: the counts are written in the reader's locale, and these assertions spell them.
  const p = await browser.newPage({ viewport: { width: 1280, height: 860 }, locale: 'en-US' })
  p.setDefaultTimeout(30_000)
  await p.goto(`${f.url}${path}`)
  await p.getByTestId('task-talk').click()
  return p
}

/** The number and the text of the first and the last line the log shows. */
async function shownEnds(p: Page) {
  const lines = p.getByTestId('task-log').locator('.line')
  const read = async (i: 'first' | 'last') => {
    const line = lines[i]()
    return `${await line.locator('.n').textContent()}: ${await line.locator('.msg').textContent()}`
  }
  return [await read('first'), await read('last')]
}

/** Waits until the log says it shows `range`, and checks that it shows lines `from` to `to`. */
async function expectShown(p: Page, range: string, from: number, to: number) {
  await p
    .getByTestId('log-range')
    .getByText(range)
    .waitFor()
    .catch(async (error: unknown) => {
      // What the page showed instead: a view that stopped following reads differently from a slow one.
      const shown = await p
        .getByTestId('log-range')
        .textContent({ timeout: 1000 })
        .catch(() => 'nothing')
      throw new Error(`the log never said "${range}"; it says "${shown}" (${String(error)})`)
    })
  expect(await shownEnds(p)).toEqual([`${from}: line ${from}`, `${to}: line ${to}`])
}

describe("a task's log longer than one page", () => {
  it('the API counts its lines and pages through every one, forwards and back, in order, none twice', async () => {
    const runId = await chattyRun({ lines: LINES })
    await f.succeeded(runId)

    const first = await page(runId)
    expect(first.total).toBe(LINES)
    expect(first.offset).toBe(0)
    expect(first.lines).toHaveLength(PAGE)

    const forwards = [...first.lines]
    for (let p = first; p.offset + p.lines.length < p.total; ) {
      p = await page(runId, `?after=${p.lines.at(-1)?.id}`)
      expect(p.offset).toBe(forwards.length)
      forwards.push(...p.lines)
    }
    expect(forwards.map((l) => l.message)).toEqual(numbered(1, LINES))

    const last = await page(runId, '?last=1')
    expect(last.offset).toBe(LINES - PAGE)
    expect(last.lines.at(-1)?.message).toBe(`line ${LINES}`)
    const backwards = [...last.lines]
    for (let p = last; p.offset > 0; ) {
      p = await page(runId, `?before=${p.lines[0]?.id}`)
      backwards.unshift(...p.lines)
      expect(p.offset).toBe(LINES - backwards.length)
    }
    expect(backwards.map((l) => l.id)).toEqual(forwards.map((l) => l.id))

    // A smaller page; and only the counts, which a page that is not at the end polls for.
    const ten = await page(runId, `?after=${forwards[99]?.id}&limit=10`)
    expect(ten).toMatchObject({ total: LINES, offset: 100 })
    expect(ten.lines.map((l) => l.message)).toEqual(numbered(101, 110))
    expect(await page(runId, `?after=${forwards[99]?.id}&limit=0`)).toEqual({
      lines: [],
      total: LINES,
      offset: 100,
    })

    for (const [query, error] of [
      ['?after=x', 'after=x is not a log line id'],
      ['?after=99999999999999999999', 'after=99999999999999999999 is not a log line id'],
      ['?after=1&before=9', 'ask for one of after, before and last'],
      ['?limit=5001', 'limit=5001 is not a whole number from 0 to 5000'],
    ] as const) {
      const refused = await logsOf(runId, query)
      expect(refused.status, query).toBe(400)
      expect(refused.body.error).toContain(error)
    }
  })

  it('the run page says how many lines there are and pages through them all', async () => {
    const runId = await chattyRun({ lines: LINES })
    await f.succeeded(runId)
    const p = await openTask(`/runs/${runId}`)
    await p.getByTestId('log-count').getByText('12,345 lines').waitFor()
    await expectShown(p, 'lines 1–5,000 of 12,345', 1, 5000)
    expect(await p.getByTestId('log-earlier').isDisabled()).toBe(true)

    await p.getByTestId('log-later').click()
    await expectShown(p, 'lines 5,001–10,000 of 12,345', 5001, 10000)

    await p.getByTestId('log-last').click()
    await expectShown(p, 'lines 7,346–12,345 of 12,345', 7346, 12345)
    expect(await p.getByTestId('log-later').isDisabled()).toBe(true)

    await p.getByTestId('log-earlier').click()
    await expectShown(p, 'lines 2,346–7,345 of 12,345', 2346, 7345)

    await p.getByTestId('log-first').click()
    await p.getByTestId('log-range').getByText('lines 1–5,000 of 12,345').waitFor()
    await p.close()
  })

  it("follows a running task's tail, keeping the last page's worth of lines, and counts them as they come", async () => {
    const gate = join(tmpdir(), `podline-ui-log-gate-${process.pid}`)
    const runId = await chattyRun({ lines: 6000, gate, more: 150 })
    await waitUntil(
      'the task to run',
      async () => (await runStatus(f.database.database, runId))?.tasks[0]?.state === 'running',
    )
    try {
      const p = await openTask(`/runs/${runId}`)
      await expectShown(p, 'lines 1,001–6,000 of 6,000', 1001, 6000)
      writeFileSync(gate, '')
      await expectShown(p, 'lines 1,151–6,150 of 6,150', 1151, 6150)
      // Followed: the box is kept scrolled to the newest line.
      await p
        .getByTestId('task-log')
        .evaluate((el) => el.scrollTop > 0 && el.scrollTop + el.clientHeight >= el.scrollHeight - 8)
        .then((atBottom) => expect(atBottom).toBe(true))
      await p.close()
    } finally {
      // Else the task waits on the gate and the worker's shutdown with it.
      writeFileSync(gate, '')
    }
  })
})
