import { triggerPipeline, Worker } from '@podline/runner'
import { waitUntil } from '@podline/runner/testing'
import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { podline, useCliDatabase } from './__tests__/cli.js'

const db = useCliDatabase()

let tries = 0
/** The second try waits until the test has seen the first one recorded. */
let secondTry: () => void = () => {}
const seen = new Promise<void>((resolve) => {
  secondTry = resolve
})
const nightly = pipeline('nightly', {
  onFailure: async () => {
    tries++
    if (tries === 1) throw new Error('the pager did not answer')
    await seen
  },
}).task('extract', async () => {
  throw new Error('the export is empty')
})

let fetched = false
const hooked = pipeline('hooked', { onRetry: () => {} })
  .task('fetch', { retries: 1, retryDelay: 10, onRetry: () => {} }, async () => {
    if (fetched) return 1
    fetched = true
    throw new Error('503')
  })
  .map('notify', { needs: ['fetch'], over: () => ['a', 'b'], onFailure: () => {} }, async (item) => {
    if (item === 'b') throw new Error('b bounced')
    return item
  })

describe('podline status of a run with callbacks', () => {
  it('shows each callback, its state and its tries', async () => {
    const worker = new Worker({
      database: db.database,
      pipelines: [nightly],
      pollMs: 200,
      leaseThread: false,
    })
    await worker.start()
    try {
      const runId = await triggerPipeline(db.database, nightly, {})
      await waitUntil('the first try to be recorded', async () => {
        const [row] = await db.sql<{ state: string; tries: number }[]>`
          select state, tries from podline.run_callbacks`
        // Queued again after one try, or already in its second (which waits for this test).
        return (row?.state === 'queued' && row.tries === 1) || tries === 2
      })
      const waiting = await podline(['status', runId], { env: db.env })
      expect(waiting.stdout).toMatch(
        /\nonFailure: (waiting to be tried again after 1 try: the pager did not answer|running after 2 tries)\n/,
      )
      secondTry()
      await waitUntil('the callback to succeed', async () => {
        const [row] = await db.sql<{ state: string }[]>`select state from podline.run_callbacks`
        return row?.state === 'success'
      })
      const done = await podline(['status', runId], { env: db.env })
      expect(done.stdout).toContain('\nonFailure: success after 2 tries\n')
    } finally {
      secondTry()
      await worker.stop()
    }
  })

  it("names a task's callbacks by the task, its item and its attempt", async () => {
    const worker = new Worker({ database: db.database, pipelines: [hooked], pollMs: 200, leaseThread: false })
    await worker.start()
    try {
      const runId = await triggerPipeline(db.database, hooked, {})
      await waitUntil('the three callbacks to succeed', async () => {
        const rows = await db.sql<{ state: string }[]>`
          select state from podline.run_callbacks where run_id = ${runId}::uuid`
        return rows.length === 3 && rows.every((r) => r.state === 'success')
      })
      const { stdout } = await podline(['status', runId], { env: db.env })
      expect(stdout).toContain('\nfetch.onRetry: success after 1 try\n')
      expect(stdout).toContain('\nonRetry (fetch, attempt 1): success after 1 try\n')
      expect(stdout).toContain('\nnotify[1].onFailure: success after 1 try\n')
    } finally {
      await worker.stop()
    }
  })
})
