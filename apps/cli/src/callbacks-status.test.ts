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
})
