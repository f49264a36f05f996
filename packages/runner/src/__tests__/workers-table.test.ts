import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimTaskRuns } from '../queue/claim-task-runs.js'
import { finishAttempt } from '../queue/finish-attempt.js'
import { reconcile } from '../queue/reconcile.js'
import { registerPlans } from '../queue/register-pipelines.js'
import { QUEUE_CHANNEL } from '../queue/sql-values.js'
import { isVersionServed, servedVersions } from '../queue/workers.js'
import { type Database, openDatabase } from '../store/database.js'
import { freshDatabase } from '../testing/index.js'
import { triggerPipeline } from '../trigger.js'
import { Worker } from '../worker/worker.js'

/*
 * Regression: the workers table was written once at start and never kept, so nothing could tell
 * which versions a live worker serves; `trigger` took the version registered last, and after a
 * rollback every run stayed queued forever.
 */
describe('the workers table', () => {
  let drop: () => Promise<void>
  let database: Database

  beforeAll(async () => {
    const db = await freshDatabase()
    drop = db.drop
    database = await openDatabase({ databaseUrl: db.url })
  })
  afterAll(async () => {
    await database.close()
    await drop()
  })

  it('says which versions a live worker serves; a stopped worker leaves it and a dead one is pruned', async () => {
    const v1 = pipeline('served').task('t', () => 1)
    const v2 = pipeline('served', { version: 'newer' }).task('t', () => 2)
    await registerPlans(database, [v1.plan()])
    const worker = new Worker({ database, pipelines: [v1], heartbeatMs: 50 })
    await worker.start()
    try {
      // v2 registered last, but nobody serves it: trigger must take v1.
      await registerPlans(database, [v2.plan()])
      expect(await servedVersions(database, 'served')).toEqual([v1.plan().version])
      expect(await isVersionServed(database, 'newer')).toBe(false)
      // The heartbeat keeps the row fresh.
      const beat = async () =>
        (await database.rows<{ at: string }>(sql`select heartbeat_at::text as at from podline.workers`))[0]
          ?.at
      const first = await beat()
      const end = Date.now() + 10_000
      while ((await beat()) === first && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
      expect(await beat()).not.toBe(first)
    } finally {
      await worker.stop()
    }
    expect(await servedVersions(database, 'served')).toEqual([])
    await database.rows(sql`
      insert into podline.workers (id, hostname, pid, versions, concurrency, lease_ms, heartbeat_at)
      values ('dead', 'h', 1, '["x"]', 1, 1000, now() - interval '1 hour')`)
    expect(await isVersionServed(database, 'x')).toBe(false)
    await reconcile(database, null)
    expect(await database.rows(sql`select id from podline.workers`)).toEqual([])
  })

  it('the queue NOTIFY carries the version, so only workers that serve it wake', async () => {
    const p = pipeline('notified')
      .task('a', () => 1)
      .task('b', { needs: ['a'] }, () => 1)
    const version = p.plan().version
    const payloads: string[] = []
    const unlisten = await database.listen(QUEUE_CHANNEL, (payload) => payloads.push(payload))
    try {
      const runId = await triggerPipeline(database, p, {})
      const [a] = await claimTaskRuns(database, {
        workerId: 'w',
        versions: [version],
        limit: 1,
        leaseMs: 60_000,
        runId,
      })
      if (!a) throw new Error('a was not claimed')
      // Completing a queues b: that NOTIFY names the version too.
      await finishAttempt(database, { ...a, workerId: 'w' }, { state: 'success', output: 1, size: 1 })
      const end = Date.now() + 10_000
      while (payloads.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
      expect(payloads).toEqual([version, version])
    } finally {
      await unlisten()
    }
  })
})
