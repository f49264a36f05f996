import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { type Database, LeaseLostError, triggerPipeline, Worker } from '../index.js'
import { useFreshDatabase } from '../testing/vitest.js'

/*
 * Regression: a worker cut off from the database kept running its task forever when its heartbeat
 * query hung instead of failing (what a real network partition does: packets vanish, no error comes
 * back). The lease check ran only in the heartbeat's error path, so it never ran; meanwhile another
 * worker took the task over. The worker must abort work whose lease it can no longer have renewed.
 */
describe('a worker whose database stops answering', () => {
  const db = useFreshDatabase()

  it('aborts its task once the lease has passed, though no query ever fails', async () => {
    let hang = false
    // The same database, except that once `hang` is set no query ever returns.
    const cutOff: Database = {
      ...db.database,
      rows: (query, executor) => (hang ? new Promise<never>(() => {}) : db.database.rows(query, executor)),
    }
    let started!: () => void
    const running = new Promise<void>((r) => {
      started = r
    })
    let worker: Worker | undefined
    const aborted = new Promise<unknown>((resolve) => {
      const p = pipeline('cut-off').task('wait', async (_inputs, { signal }) => {
        started()
        await new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            resolve(signal.reason)
            reject(signal.reason)
          })
        })
        return 1
      })
      void (async () => {
        // Renewal on the main thread, through the wrapped database: the lease thread would bypass the cut.
        worker = new Worker({
          database: cutOff,
          pipelines: [p],
          leaseMs: 600,
          reconcileMs: 60_000,
          leaseThread: false,
        })
        await worker.start()
        await triggerPipeline(db.database, p, {})
        await running
        hang = true
      })()
    })
    const reason = await Promise.race([
      aborted,
      new Promise((r) => setTimeout(r, 10_000, 'still running after 10 s')),
    ])
    hang = false
    await worker?.stop({ drainMs: 1000 })
    expect(reason).toBeInstanceOf(LeaseLostError)
  })
})
