import { openDatabase } from '@podline/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chain } from './fixtures/pipelines.js'
import { auditRuns } from './support/audit.js'
import { type Client, connect, sideEffectFolder } from './support/harness.js'
import { startThrowawayCluster, type ThrowawayCluster } from './support/throwaway-cluster.js'
import { spawnWorker, type WorkerProcess } from './support/worker-process.js'

/*
 * `pg_ctl restart -m fast` in the middle of a run: every connection is terminated, the server is
 * gone for a moment, then back. The workers must reconnect (queries, LISTEN) and finish every run,
 * with nothing lost and nothing done twice within an attempt. The cluster is the test's own.
 */
describe('PostgreSQL restarts mid-run', () => {
  let cluster: ThrowawayCluster
  const side = sideEffectFolder()
  let client: Client | undefined
  const workers: WorkerProcess[] = []

  beforeAll(async () => {
    cluster = startThrowawayCluster(55433)
    const database = await openDatabase({ databaseUrl: cluster.url, poolSize: 1 })
    try {
      await database.migrate()
    } finally {
      await database.close()
    }
  })

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()))
    await client?.close().catch(() => {})
    cluster?.destroy()
    side.remove()
  })

  it('workers reconnect and every run completes once', async () => {
    client = await connect(cluster.url)
    const env = { DATABASE_URL: cluster.url, SIDE_FILE: side.file, LEASE_MS: '2000' }
    workers.push(spawnWorker(env), spawnWorker(env))
    await Promise.all(workers.map((w) => w.until((l) => l.type === 'ready')))
    const runIds = await client.triggerMany(chain, 30, { ms: 150 })
    // Mid-run: some tasks done, most still to come.
    let finished = 0
    await Promise.any(workers.map((w) => w.until((l) => l.type === 'finished' && ++finished >= 12, 30_000)))
    cluster.restart()
    await client.waitForRuns(runIds, 90_000)
    const report = await auditRuns(client.sql, runIds, side.file)
    console.info(
      `restart: ${report.runs} runs, ${report.attempts} attempts for ${report.taskRuns} task runs, ` +
        `${report.sideEffects} side effects`,
    )
    expect(report.problems).toEqual([])
    expect(report.taskRuns).toBe(90)
    // Both workers lived through it and kept working.
    for (const w of workers)
      expect(w.child.exitCode, `a worker exited; its stderr:\n${w.stderr()}`).toBeNull()
    const after = await client.triggerMany(chain, 4, { ms: 10 })
    await client.waitForRuns(after, 30_000)
    expect((await auditRuns(client.sql, after, side.file)).problems).toEqual([])
  }, 150_000)
})
