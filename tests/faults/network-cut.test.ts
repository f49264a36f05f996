import { describe, expect, it } from 'vitest'
import { long } from './fixtures/pipelines.js'
import { auditRuns } from './support/audit.js'
import { withFaultTest } from './support/fault-test.js'
import { readSideEffects } from './support/side-effects.js'
import { startTcpProxy } from './support/tcp-proxy.js'
import { spawnWorker } from './support/worker-process.js'

/*
 * A worker cut off from PostgreSQL (through a proxy that drops every connection and refuses new
 * ones) for longer than its lease, while it runs a long task. It can no longer fence a completion,
 * so it must abort the task (its AbortSignal fires: the fixture records `aborted`); another worker
 * runs the task once the lease has expired, and the task succeeds exactly once.
 */
describe('a network cut to PostgreSQL longer than the lease', () => {
  it('the cut-off worker aborts its task; another worker does it once', async () => {
    await withFaultTest('podline_fault_cut', async ({ db, side, client, workers, defer }) => {
      const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(db.url).port || 5432) })
      defer(() => proxy.close())
      try {
        const viaProxy = new URL(db.url)
        viaProxy.port = String(proxy.port)
        // A lease of 4 s, renewed every 1.3 s: on a loaded machine a 1.5 s lease can lapse before the
        // cut, when the worker's own reconciler takes its attempt over and runs it a second time.
        const env = { SIDE_FILE: side.file, LEASE_MS: '4000', CONCURRENCY: '1' }
        const cutOff = spawnWorker({ ...env, DATABASE_URL: viaProxy.toString() })
        workers.push(cutOff)
        await cutOff.until((l) => l.type === 'ready')
        const runId = await client.trigger(long)
        await cutOff.until((l) => l.type === 'started' && l.runId === runId)
        const other = spawnWorker({ ...env, DATABASE_URL: db.url })
        workers.push(other)
        await other.until((l) => l.type === 'ready')
        proxy.cut()
        await client.waitForRuns([runId], 30_000)
        // The abort is the cut-off worker's own decision; give it the time of a lease to take it.
        await cutOff.until((l) => l.type === 'finished' && l.runId === runId, 10_000)
        const report = await auditRuns(client.sql, [runId], side.file)
        const effects = readSideEffects(side.file).map((s) => `${s.attempt} ${s.what}`)
        const successes = await client.sql`
          select attempt, worker from podline.events where run_id = ${runId}::uuid and task is not null and to_state = 'success'`
        expect(report.problems).toEqual([])
        // The abort and the takeover both happen when the lease runs out, in either order. The takeover
        // continues attempt 1 (a dead worker spends no retry), in another process.
        expect(effects.sort()).toEqual(['1 aborted', '1 done', '1 start', '1 start'])
        expect(new Set(readSideEffects(side.file).map((s) => s.execution)).size).toBe(2)
        expect(successes).toHaveLength(1)
        expect(successes[0]?.worker).not.toBe(cutOff.lines.find((l) => l.type === 'ready')?.id)
        expect(cutOff.lines.find((l) => l.type === 'finished')?.state).toBe('lost')
      } finally {
        // The workers are stopped through the proxy: they reach the database again first.
        proxy.heal()
      }
    })
  }, 60_000)
})
