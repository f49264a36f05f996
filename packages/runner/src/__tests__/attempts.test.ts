import { type AnyPipeline, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { podName } from '../pods/pod-identity.js'
import { type ClaimedTaskRun, claimTaskRuns } from '../queue/claim-task-runs.js'
import { finishAttempt } from '../queue/finish-attempt.js'
import { isTaskRunRunning } from '../queue/heartbeat.js'
import { MAX_LEASE_EXPIRIES, MAX_POD_LEASE_EXPIRIES, reconcile } from '../queue/reconcile.js'
import { releaseTaskRuns } from '../queue/release-task-runs.js'
import { retryRun } from '../queue/retry-run.js'
import { runStatus } from '../read-model/run-status.js'
import { attemptRef, waitUntil } from '../testing/index.js'
import { useStore } from '../testing/vitest.js'
import { triggerPipeline } from '../trigger.js'
import { failureOutcome } from '../worker/attempt-outcome.js'

for (const driver of ['postgres', 'pglite'] as const) {
  describe(`attempts on ${driver}`, () => {
    const db = useStore(driver)

    const claim = async (p: AnyPipeline, runId: string, workerId: string, leaseMs = 60_000) => {
      const [c] = await claimTaskRuns(db.database, {
        workerId,
        versions: [p.plan().version],
        limit: 1,
        leaseMs,
        runId,
      })
      if (!c) throw new Error('nothing was claimed')
      return c
    }
    /** A worker that claims with a lease of 1 ms and dies: the reconciler then takes the attempt back. */
    const dieHolding = async (p: AnyPipeline, runId: string, workerId: string) => {
      const c = await claim(p, runId, workerId, 1)
      await waitUntil(
        'the lease to be reconciled',
        async () => {
          const r = await reconcile(db.database, 'reconciler')
          return r.requeued + r.failed > 0
        },
        20_000,
      )
      return c
    }
    const row = async (runId: string) => {
      const [r] = await db.database.rows<{
        state: string
        attempt: number
        max_attempts: number
        lease_expiries: number
        error: string | null
      }>(
        sql`select state, attempt, max_attempts, lease_expiries, error from podline.task_runs where run_id = ${runId}::uuid`,
      )
      return r
    }

    it('a worker death spends no retry: the takeover continues the attempt, and status never shows more attempts than allowed', async () => {
      const p = pipeline('death-no-retry').task('t', { retries: 1 }, () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      const first = await dieHolding(p, runId, 'dead')
      const taken = await claim(p, runId, 'B')
      expect(taken).toMatchObject({ attempt: first.attempt, resumed: true, maxAttempts: 2 })
      await finishAttempt(db.database, attemptRef(taken, 'B'), failureOutcome(new Error('boom'), taken))
      expect(await row(runId)).toMatchObject({ state: 'up_for_retry', attempt: 1, lease_expiries: 1 })
      await db.database.rows(
        sql`update podline.task_runs set available_at = now() where run_id = ${runId}::uuid`,
      )
      const second = await claim(p, runId, 'B')
      expect(second).toMatchObject({ attempt: 2, resumed: false })
      await finishAttempt(db.database, attemptRef(second, 'B'), failureOutcome(new Error('boom'), second))
      const status = await runStatus(db.database, runId)
      expect(status?.tasks[0]).toMatchObject({ state: 'failed', attempt: 2, maxAttempts: 2 })
    })

    it('a task that keeps killing its worker fails with a message saying so', async () => {
      const p = pipeline('killer').task('t', { retries: 5 }, () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      for (let i = 0; i < MAX_LEASE_EXPIRIES; i++) await dieHolding(p, runId, `dead-${i}`)
      const r = await row(runId)
      expect(r).toMatchObject({ state: 'failed', attempt: 1, lease_expiries: MAX_LEASE_EXPIRIES })
      expect(r?.error).toMatch(/the task keeps killing its worker/)
      expect((await runStatus(db.database, runId))?.run.state).toBe('failed')
    })

    it('a pod task outlives more worker deaths: its work runs in the pod, and one death expires every pod a worker held', async () => {
      const p = pipeline('pod-killer').pod('t', {}, { image: 'alpine:3.20' })
      const runId = await triggerPipeline(db.database, p, undefined)
      for (let i = 0; i < MAX_LEASE_EXPIRIES; i++) await dieHolding(p, runId, `dead-${i}`)
      expect(await row(runId)).toMatchObject({
        state: 'queued',
        attempt: 1,
        lease_expiries: MAX_LEASE_EXPIRIES,
      })
      for (let i = MAX_LEASE_EXPIRIES; i < MAX_POD_LEASE_EXPIRIES; i++)
        await dieHolding(p, runId, `dead-${i}`)
      const r = await row(runId)
      expect(r).toMatchObject({ state: 'failed', attempt: 1, lease_expiries: MAX_POD_LEASE_EXPIRIES })
      expect(r?.error).toMatch(new RegExp(`stopped renewing its lease ${MAX_POD_LEASE_EXPIRIES} times`))
    })

    it('a drain hand-back continues the same attempt and spends neither retries nor takeovers', async () => {
      const p = pipeline('drained').task('t', () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      const first = await claim(p, runId, 'draining')
      await releaseTaskRuns(db.database, 'draining', [first.id])
      expect(await isTaskRunRunning(db.database, { runId, task: 't', attempt: 1 })).toBe(true)
      const next = await claim(p, runId, 'B')
      expect(next).toMatchObject({ attempt: 1, resumed: true, claim: 2 })
      expect(await row(runId)).toMatchObject({ lease_expiries: 0 })
    })

    it('retry of a pod task gets a new pod, not the old failed one', async () => {
      const p = pipeline('pod-retry').task('t', () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      const first = await claim(p, runId, 'A')
      await finishAttempt(
        db.database,
        attemptRef(first, 'A'),
        failureOutcome(new Error('the pod failed'), first),
      )
      await retryRun(db.database, runId)
      const again = await claim(p, runId, 'A')
      expect(again).toMatchObject({ attempt: 2, resumed: false, maxAttempts: 2 })
      // The worker names the pod after the claimed attempt, so the retry cannot meet the failed pod.
      const store = await db.database.storeId()
      const name = (c: ClaimedTaskRun) =>
        podName({ store, pipeline: c.pipeline, runId, task: c.task, attempt: c.attempt })
      expect(name(again)).not.toBe(name(first))
      // The failed pod's attempt no longer runs: the orphan sweep may delete it.
      expect(await isTaskRunRunning(db.database, { runId, task: 't', attempt: 1 })).toBe(false)
      expect(await isTaskRunRunning(db.database, { runId, task: 't', attempt: 2 })).toBe(true)
    })

    it('retry keeps history: the earlier error stays in the events and the attempts go on', async () => {
      const p = pipeline('history').task('t', { retries: 1 }, () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      for (let i = 0; i < 2; i++) {
        await db.database.rows(
          sql`update podline.task_runs set available_at = now() where run_id = ${runId}::uuid`,
        )
        const c = await claim(p, runId, 'A')
        await finishAttempt(
          db.database,
          attemptRef(c, 'A'),
          failureOutcome(new Error(`failure ${c.attempt}`), c),
        )
      }
      expect(await retryRun(db.database, runId)).toBe(1)
      const c = await claim(p, runId, 'A')
      // A fresh budget of retries from where the attempts were: 3 of 4, never 3 of 2.
      expect(c).toMatchObject({ attempt: 3, maxAttempts: 4 })
      const messages = await db.database.rows<{ attempt: number; message: string | null }>(
        sql`select attempt, message from podline.events where run_id = ${runId}::uuid and task is not null and to_state in ('failed', 'up_for_retry') order by id`,
      )
      expect(messages).toEqual([
        { attempt: 1, message: 'failure 1' },
        { attempt: 2, message: 'failure 2' },
      ])
    })

    it('a takeover keeps the attempt deadline instead of restarting the timeout', async () => {
      const p = pipeline('deadline').task('t', { timeout: '1h' }, () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      const deadline = async () => {
        const [r] = await db.database.rows<{ at: string }>(
          sql`select timeout_at::text as at from podline.task_runs where run_id = ${runId}::uuid`,
        )
        return r?.at
      }
      const first = await dieHolding(p, runId, 'dead')
      const set = await deadline()
      expect(set).toBeTruthy()
      const taken = await claim(p, runId, 'B')
      expect(await deadline()).toBe(set)
      expect(taken.msToDeadline).not.toBeNull()
      expect(taken.msToDeadline!).toBeLessThanOrEqual(first.msToDeadline!)
      expect(first.msToDeadline).toBeLessThanOrEqual(3_600_000)
    })

    it('retry of a succeeded run is refused and leaves the run untouched', async () => {
      const p = pipeline('all-good').task('t', () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      const c = await claim(p, runId, 'A')
      await finishAttempt(db.database, attemptRef(c, 'A'), { state: 'success', output: 1, size: 1 })
      const snapshot = async () => ({
        status: await runStatus(db.database, runId),
        events: await db.database.rows(
          sql`select count(*)::int as n from podline.events where run_id = ${runId}::uuid`,
        ),
      })
      const before = await snapshot()
      expect(before.status?.run.state).toBe('success')
      await expect(retryRun(db.database, runId)).rejects.toThrow(
        expect.objectContaining({
          name: 'RetryError',
          message: expect.stringMatching(/has nothing to retry/),
        }),
      )
      expect(await snapshot()).toEqual(before)
    })

    it('retry due times are computed by the database clock, not the worker', async () => {
      const p = pipeline('due').task('t', { retries: 1, retryDelay: { initial: 60_000, jitter: 0 } }, () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      const c = await claim(p, runId, 'A')
      const outcome = failureOutcome(new Error('again'), c)
      expect(outcome).toMatchObject({ state: 'up_for_retry', retryDelayMs: 60_000 })
      await finishAttempt(db.database, attemptRef(c, 'A'), outcome)
      const [r] = await db.database.rows<{ ms: number }>(
        sql`select (extract(epoch from available_at - finished_at) * 1000)::float8 as ms
            from podline.task_runs where run_id = ${runId}::uuid`,
      )
      // The same now() in the same statement: exactly the delay, whatever the worker's clock says.
      expect(r?.ms).toBe(60_000)
    })
  })
}
