import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { claimTaskRuns } from '../queue/claim-task-runs.js'
import { finishAttempt } from '../queue/finish-attempt.js'
import { reconcile } from '../queue/reconcile.js'
import { registerPlans } from '../queue/register-pipelines.js'
import { QUEUE_CHANNEL } from '../queue/sql-values.js'
import { isVersionServed, servedVersions } from '../queue/workers.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'
import { triggerPipeline } from '../trigger.js'
import { Worker } from '../worker/worker.js'

/*
 * Regression: the workers table was written once at start and never kept, so nothing could tell
 * which versions a live worker serves; `trigger` took the version registered last, and after a
 * rollback every run stayed queued forever.
 */
describe('the workers table', () => {
  const db = useFreshDatabase()

  it('says which versions a live worker serves; a stopped worker leaves it and a dead one is pruned', async () => {
    const v1 = pipeline('served').task('t', () => 1)
    const v2 = pipeline('served', { version: 'newer' }).task('t', () => 2)
    await registerPlans(db.database, [v1.plan()])
    const worker = new Worker({ database: db.database, pipelines: [v1], heartbeatMs: 50 })
    await worker.start()
    try {
      // v2 registered last, but nobody serves it: trigger must take v1.
      await registerPlans(db.database, [v2.plan()])
      expect(await servedVersions(db.database, 'served')).toEqual([v1.plan().version])
      expect(await isVersionServed(db.database, 'newer')).toBe(false)
      // The heartbeat keeps the row fresh.
      const beat = async () =>
        (await db.database.rows<{ at: string }>(sql`select heartbeat_at::text as at from podline.workers`))[0]
          ?.at
      const first = await beat()
      await waitUntil('the heartbeat to be written again', async () => (await beat()) !== first, 10_000)
      expect(await beat()).not.toBe(first)
    } finally {
      await worker.stop()
    }
    expect(await servedVersions(db.database, 'served')).toEqual([])
    await db.database.rows(sql`
      insert into podline.workers (id, hostname, pid, versions, concurrency, lease_ms, heartbeat_at)
      values ('dead', 'h', 1, '["x"]', 1, 1000, now() - interval '1 hour')`)
    expect(await isVersionServed(db.database, 'x')).toBe(false)
    await reconcile(db.database, null)
    expect(await db.database.rows(sql`select id from podline.workers`)).toEqual([])
  })

  it('the queue NOTIFY carries the version, so only workers that serve it wake', async () => {
    const p = pipeline('notified')
      .task('a', () => 1)
      .task('b', { needs: ['a'] }, () => 1)
    const version = p.plan().version
    const payloads: string[] = []
    const unlisten = await db.database.listen(QUEUE_CHANNEL, (payload) => payloads.push(payload))
    try {
      const runId = await triggerPipeline(db.database, p, {})
      const [a] = await claimTaskRuns(db.database, {
        workerId: 'w',
        versions: [version],
        limit: 1,
        leaseMs: 60_000,
        runId,
      })
      if (!a) throw new Error('a was not claimed')
      // Completing a queues b: that NOTIFY names the version too.
      await finishAttempt(db.database, { ...a, workerId: 'w' }, { state: 'success', output: 1, size: 1 })
      await waitUntil('two queue notifications', () => payloads.length >= 2, 10_000)
      expect(payloads).toEqual([version, version])
    } finally {
      await unlisten()
    }
  })
})
