import { openDatabase, reconcile, runLocal, TaskRunError, triggerPipeline, Worker } from '@podline/runner'
import { runEnded, storeForDriver } from '@podline/runner/testing'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { spawnHostileWorker } from './fixtures/worker-child.js'
import { blocking, spin } from './fixtures/worker-pipelines.js'

describe('timeouts and a blocked event loop', () => {
  const db = useFreshDatabase()

  it('a task that returns after its timeout fails as timed out, though its timer could not fire', async () => {
    const late = pipeline('late-return').task('late', { timeout: '300ms' }, () => {
      spin(800)
      return 'too late'
    })
    const error = await runLocal(late, {}, { database: db.database }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskRunError)
    expect((error as Error).message).toMatch(/TaskTimeoutError: task "late" timed out after 300 ms/)
  })

  it("a task that blocks the event loop for longer than the lease does not cost its neighbours' leases", async () => {
    const worker = spawnHostileWorker({ ...db.env, LEASE_MS: '1000' })
    // This process plays the other workers' reconciler: it requeues every lease that expires.
    let sweeping = true
    const sweeps = (async () => {
      while (sweeping) {
        await reconcile(db.database, null)
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    try {
      await worker.until((l) => l.type === 'ready')
      const status = await runEnded(db.database, await triggerPipeline(db.database, blocking, {}))
      expect(status.run.state, JSON.stringify({ tasks: status.tasks, stderr: worker.stderr() })).toBe(
        'success',
      )
      // Each task ran once: no lease expired, so nothing was taken over and run again.
      expect(status.tasks.map((t) => [t.task, t.attempt])).toEqual([
        ['spin', 1],
        ['neighbour', 1],
      ])
      expect(worker.lines.filter((l) => l.state === 'lost')).toEqual([])
    } finally {
      sweeping = false
      await sweeps
      await worker.stop()
    }
  })
})

describe('a blocked event loop on the embedded store', () => {
  it('keeps the leases of every task: only this process could take them over, and it renews before it sweeps', async () => {
    const { options, cleanup } = await storeForDriver('pglite')
    const embedded = await openDatabase(options)
    try {
      await embedded.migrate()
      const worker = new Worker({ database: embedded, pipelines: [blocking], leaseMs: 600, reconcileMs: 100 })
      await worker.start()
      const lost: string[] = []
      const status = await runEnded(embedded, await triggerPipeline(embedded, blocking, {}))
      await worker.stop({ drainMs: 1000 })
      expect(lost).toEqual([])
      expect(status.run.state).toBe('success')
      expect(status.tasks.map((t) => [t.task, t.attempt])).toEqual([
        ['spin', 1],
        ['neighbour', 1],
      ])
    } finally {
      await embedded.close()
      await cleanup()
    }
  })
})
