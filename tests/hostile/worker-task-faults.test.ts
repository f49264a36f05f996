import { runEvents, triggerPipeline } from '@podline/runner'
import { runEnded } from '@podline/runner/testing'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { describe, expect, it } from 'vitest'
import { spawnHostileWorker } from './fixtures/worker-child.js'
import { bystander, faults, quick } from './fixtures/worker-pipelines.js'

describe('a task cannot take its worker down', () => {
  const db = useFreshDatabase()
  const ended = (runId: string) => runEnded(db.database, runId)

  it('an unhandled rejection, an uncaught exception or process.exit() fails that task alone, and the worker goes on', async () => {
    const worker = spawnHostileWorker({ ...db.env, LEASE_MS: '5000' })
    try {
      await worker.until((l) => l.type === 'ready')
      const runId = await triggerPipeline(db.database, faults, {})
      const status = await ended(runId)
      const byTask = Object.fromEntries(status.tasks.map((t) => [t.task, t]))
      expect(byTask.rejects?.state).toBe('failed')
      expect(byTask.rejects?.error).toBe(
        'an unhandled promise rejection in task "rejects": nobody awaited this',
      )
      expect(byTask.throws?.state).toBe('failed')
      expect(byTask.throws?.error).toBe(
        'an uncaught exception in task "throws": RangeError: thrown from a timer',
      )
      expect(byTask.exits?.state).toBe('failed')
      expect(byTask.exits?.error).toMatch(/^task "exits" called process\.exit\(0\)/)
      expect(byTask.neighbour).toMatchObject({ state: 'success', attempt: 1 })
      // Still the same worker, still taking work.
      expect(worker.child.exitCode).toBeNull()
      const again = await ended(await triggerPipeline(db.database, quick, {}))
      expect(again.tasks[0]).toMatchObject({ state: 'success', attempt: 1 })
    } finally {
      await worker.stop()
    }
  })

  it("a lost connection's error that nobody awaits is survived with a warning; the worker goes on", async () => {
    const worker = spawnHostileWorker({ ...db.env })
    try {
      await worker.until((l) => l.type === 'ready')
      worker.child.kill('SIGHUP')
      await worker.until((l) => l.type === 'after-connection-loss')
      const runId = await triggerPipeline(db.database, quick, {})
      expect((await ended(runId)).tasks[0]).toMatchObject({ state: 'success' })
      expect(worker.child.exitCode).toBeNull()
      expect(worker.stderr()).toContain(
        'survived an unawaited database error after a dropped connection: read ECONNRESET',
      )
    } finally {
      await worker.stop()
    }
  })

  it('a fault that must end the process first hands the tasks beside it back to the queue', async () => {
    const doomed = spawnHostileWorker({ ...db.env, LEASE_MS: '60000', BYSTANDER_WAITS: '1' })
    let next: ReturnType<typeof spawnHostileWorker> | undefined
    try {
      await doomed.until((l) => l.type === 'ready')
      const runId = await triggerPipeline(db.database, bystander, {})
      await doomed.until((l) => l.type === 'started' && l.runId === runId)
      doomed.child.kill('SIGUSR2')
      expect(await doomed.exited).toBe(1)
      expect(doomed.stderr()).toMatch(/an uncaught exception outside any task ended this process/)
      // Released at once, not after the 60 s lease: no takeover, nothing charged to the bystander.
      const events = await runEvents(db.database, runId)
      expect(events.map((e) => [e.fromState, e.toState, e.message])).toContainEqual([
        'running',
        'queued',
        'released by a draining worker; the next claim continues this attempt',
      ])
      next = spawnHostileWorker({ ...db.env, LEASE_MS: '60000' })
      const status = await ended(runId)
      // The hand-back spent nothing: the same attempt finished on the next worker.
      expect(status.tasks[0]).toMatchObject({ state: 'success', attempt: 1 })
    } finally {
      await doomed.stop()
      await next?.stop()
    }
  })
})
