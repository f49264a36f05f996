import { type AnyPipeline, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  cancelRun,
  claimTaskRuns,
  finishAttempt,
  InvalidParamsError,
  LeaseLostError,
  reconcile,
  registerPlans,
  runLocal,
  runStatus,
  TaskRunError,
  taskXcoms,
  triggerPipeline,
  triggerPlan,
  Worker,
} from '../index.js'
import { waitUntil } from '../testing/index.js'
import { useStore } from '../testing/vitest.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const driver of ['postgres', 'pglite'] as const) {
  describe(`engine on ${driver}`, () => {
    // On PGlite one process owns the store: tests share it rather than reopening it.
    const db = useStore(driver)

    const run = <P extends AnyPipeline>(p: P, params?: unknown) =>
      // biome-ignore lint/suspicious/noExplicitAny: params are checked at run time in these tests.
      runLocal(p, params as any, driver === 'pglite' ? { ...db.options, database: db.database } : db.options)

    const events = (runId: string, task: string) =>
      db.database.rows<{
        from: string | null
        to: string
        attempt: number
        message: string | null
        at: Date
      }>(
        sql`select from_state as "from", to_state as "to", attempt, message, created_at as at
            from podline.events where run_id = ${runId}::uuid and task = ${task} order by id`,
      )

    it('retries with exponential backoff, then succeeds', async () => {
      let calls = 0
      let runId = ''
      const starts: number[] = []
      const failures: number[] = []
      const p = pipeline('flaky').task(
        'try',
        { retries: 3, retryDelay: { initial: 60, factor: 2, jitter: 0 } },
        async (_in, ctx) => {
          runId = ctx.runId
          calls++
          starts.push(Date.now())
          if (ctx.attempt < 3) {
            failures.push(Date.now())
            throw new Error(`attempt ${ctx.attempt} failed`)
          }
          return ctx.attempt
        },
      )
      expect(await run(p)).toEqual({ try: 3 })
      expect(calls).toBe(3)
      const ev = await events(runId, 'try')
      expect(ev.map((e) => `${e.attempt}:${e.to}`)).toEqual([
        '0:queued',
        '1:running',
        '1:up_for_retry',
        '2:running',
        '2:up_for_retry',
        '3:running',
        '3:success',
      ])
      // Each retry waits at least its delay, and the second twice the first: exponential backoff.
      expect(starts[1]! - failures[0]!).toBeGreaterThanOrEqual(60)
      expect(starts[2]! - failures[1]!).toBeGreaterThanOrEqual(120)
    })

    it('fails after the last retry with the error and stack', async () => {
      const p = pipeline('always-fails').task('nope', { retries: 1, retryDelay: 10 }, () => {
        throw new TypeError('bad input row 7')
      })
      const error = await run(p).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TaskRunError)
      expect((error as TaskRunError).message).toBe('task "nope" failed: TypeError: bad input row 7')
      const status = await runStatus(db.database, (error as TaskRunError).runId)
      expect(status?.run.state).toBe('failed')
      expect(status?.tasks[0]).toMatchObject({ state: 'failed', attempt: 2 })
      expect(status?.tasks[0]?.errorStack).toContain('engine.test.ts')
    })

    it('times out an attempt: the signal fires and the attempt fails', async () => {
      let sawAbort = false
      const p = pipeline('slow').task('hang', { timeout: 100 }, async (_in, ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
        sawAbort = ctx.signal.aborted
        // Ignores the signal afterwards: the attempt is still decided by the timeout.
        await sleep(1_500)
        return 1
      })
      const error = await run(p).catch((e: unknown) => e)
      expect(sawAbort).toBe(true)
      expect((error as Error).message).toMatch(
        /task "hang" failed: TaskTimeoutError: task "hang" timed out after 100 ms/,
      )
    })

    it('applies every trigger rule', async () => {
      const p = pipeline('rules')
        .task('ok', () => 1)
        .task('bad', () => {
          throw new Error('no')
        })
        .task('all-success', { needs: ['ok', 'bad'] }, () => 'ran')
        .task('all-done', { needs: ['ok', 'bad'], triggerRule: 'all_done' }, () => 'ran')
        .task('all-failed', { needs: ['bad'], triggerRule: 'all_failed' }, () => 'ran')
        .task('all-failed-skip', { needs: ['ok'], triggerRule: 'all_failed' }, () => 'ran')
        .task('one-success', { needs: ['ok', 'bad'], triggerRule: 'one_success' }, () => 'ran')
        .task('one-failed', { needs: ['ok', 'bad'], triggerRule: 'one_failed' }, () => 'ran')
        .task('one-failed-skip', { needs: ['ok'], triggerRule: 'one_failed' }, () => 'ran')
        .task('none-failed', { needs: ['ok', 'all-failed-skip'], triggerRule: 'none_failed' }, () => 'ran')
        .task('none-failed-up', { needs: ['bad'], triggerRule: 'none_failed' }, () => 'ran')
        .task('after-skip', { needs: ['one-failed-skip'] }, () => 'ran')
      const error = (await run(p).catch((e: unknown) => e)) as TaskRunError
      const status = await runStatus(db.database, error.runId)
      const states = Object.fromEntries(status?.tasks.map((t) => [t.task, t.state]) ?? [])
      expect(states).toEqual({
        ok: 'success',
        bad: 'failed',
        'all-success': 'upstream_failed',
        'all-done': 'success',
        'all-failed': 'success',
        'all-failed-skip': 'skipped',
        'one-success': 'success',
        'one-failed': 'success',
        'one-failed-skip': 'skipped',
        'none-failed': 'success',
        'none-failed-up': 'upstream_failed',
        'after-skip': 'skipped',
      })
      expect(status?.run.state).toBe('failed')
    })

    it('cancels a running run: the task sees its signal and every task ends cancelled', async () => {
      let aborted: unknown
      let started!: () => void
      const running = new Promise<void>((r) => {
        started = r
      })
      const p = pipeline('cancel-me')
        .task('wait', async (_in, ctx) => {
          started()
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
          aborted = ctx.signal.reason
          return 1
        })
        .task('after', { needs: ['wait'] }, () => 2)
      let runId = ''
      const result = runLocal(p, undefined, {
        ...(driver === 'pglite' ? { ...db.options, database: db.database } : db.options),
        onRun: (id) => {
          runId = id
        },
      }).catch((e: unknown) => e)
      await running
      expect(await cancelRun(db.database, runId)).toBe(true)
      expect(await result).toMatchObject({ name: 'RunCancelledError' })
      expect(String(aborted)).toContain('cancelled')
      const status = await runStatus(db.database, runId)
      expect(status?.run.state).toBe('cancelled')
      expect(status?.tasks.map((t) => t.state)).toEqual(['cancelled', 'cancelled'])
      expect(await cancelRun(db.database, runId)).toBe(false)
    })

    it('refuses outputs that are not JSON or too large, without retrying and without storing them', async () => {
      const cyclic: Record<string, unknown> = {}
      cyclic.me = cyclic
      const cases: Array<[AnyPipeline, RegExp]> = [
        [pipeline('nan').task('t', { retries: 2 }, () => ({ v: Number.NaN })), /output.v is NaN/],
        [
          pipeline('cycle').task('t', { retries: 2 }, () => cyclic as never),
          /output.me is a circular reference/,
        ],
        [
          pipeline('huge').task('t', { retries: 2 }, () => 'x'.repeat(2048)),
          /the output of task "t" is 2 KiB \(2050 bytes\), over the XCom size limit of 1 KiB \(1024 bytes/,
        ],
      ]
      for (const [p, message] of cases) {
        const error = (await runLocal(p, undefined, {
          ...(driver === 'pglite' ? { ...db.options, database: db.database } : db.options),
          xcomSizeLimitBytes: 1024,
        }).catch((e: unknown) => e)) as TaskRunError
        expect(error.message).toMatch(message)
        const status = await runStatus(db.database, error.runId)
        expect(status?.tasks[0]).toMatchObject({ state: 'failed', attempt: 1 })
        expect(await taskXcoms(db.database, error.runId, 't')).toEqual([])
      }
    })

    it('refuses params that fail the schema and creates no run', async () => {
      const p = pipeline('typed', { params: z.object({ day: z.string() }) }).task(
        't',
        (_i, ctx) => ctx.params.day,
      )
      const [before] = await db.database.rows<{ n: number }>(sql`select count(*)::int as n from podline.runs`)
      await expect(triggerPipeline(db.database, p, { day: 5 })).rejects.toThrow(InvalidParamsError)
      await expect(triggerPipeline(db.database, p, { day: 5 })).rejects.toThrow(/day: .*; no run was created/)
      // From the stored plan alone (podline trigger): its JSON Schema is checked the same way.
      await expect(triggerPlan(db.database, p.plan(), { day: 5 })).rejects.toThrow(
        /params of pipeline "typed" failed validation: day: must be string; no run was created/,
      )
      const [after] = await db.database.rows<{ n: number }>(sql`select count(*)::int as n from podline.runs`)
      expect(after?.n).toBe(before?.n)
    })

    it('fences: a stale worker cannot complete an attempt after its lease expired and was retaken', async () => {
      const p = pipeline('fenced').task('t', () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      const version = p.plan().version
      const [a] = await claimTaskRuns(db.database, {
        workerId: 'A',
        versions: [version],
        limit: 1,
        leaseMs: 1,
        runId,
      })
      expect(a?.attempt).toBe(1)
      const swept = await waitUntil('the 1 ms lease to lapse and be reconciled', async () => {
        const r = await reconcile(db.database, 'reconciler')
        return r.requeued + r.failed > 0 && r
      })
      expect(swept).toMatchObject({ requeued: 1, failed: 0 })
      const [b] = await claimTaskRuns(db.database, {
        workerId: 'B',
        versions: [version],
        limit: 1,
        leaseMs: 60_000,
        runId,
      })
      // A takeover continues the same attempt; the claim number is what fences the stale worker.
      expect(b).toMatchObject({ attempt: 1, resumed: true, claim: 2 })
      const refA = { id: a!.id, runId, task: 't', attempt: 1, claim: a!.claim, workerId: 'A' }
      await expect(
        finishAttempt(db.database, refA, { state: 'success', output: 'stale', size: 7 }),
      ).rejects.toThrow(LeaseLostError)
      await finishAttempt(
        db.database,
        { ...refA, claim: b!.claim, workerId: 'B' },
        { state: 'success', output: 'fresh', size: 7 },
      )
      expect(await taskXcoms(db.database, runId, 't')).toEqual([
        { key: 'return_value', value: 'fresh', size: 7, attempt: 1 },
      ])
      const ev = await events(runId, 't')
      expect(ev.map((e) => e.to)).toEqual(['queued', 'running', 'queued', 'running', 'success'])
      expect(ev[2]?.message).toMatch(/the worker A stopped renewing its lease/)
    })

    it('takes a task over once when its worker dies (lease expiry), in the same attempt, and only the versions it has loaded', async () => {
      const v1 = pipeline('versioned').task('t', (_i, ctx) => ctx.attempt)
      const v2 = pipeline('versioned', { version: '2' }).task('t', () => -1)
      await registerPlans(db.database, [v1.plan(), v2.plan()])
      const run1 = await triggerPipeline(db.database, v1, undefined)
      const run2 = await triggerPipeline(db.database, v2, undefined)
      // A worker that claims and then dies: it never heartbeats or completes.
      const [dead] = await claimTaskRuns(db.database, {
        workerId: 'dead',
        versions: [v1.plan().version],
        limit: 1,
        leaseMs: 50,
        runId: run1,
      })
      expect(dead?.attempt).toBe(1)
      const worker = new Worker({
        database: db.database,
        pipelines: [v1],
        reconcileMs: 50,
        pollMs: 50,
        leaseMs: 5000,
      })
      await worker.start()
      try {
        const status = await waitUntil(
          'the run to succeed',
          async () => {
            const s = await runStatus(db.database, run1)
            return s?.run.state === 'success' && s
          },
          20_000,
        )
        // A worker's death spends no retry: the task finishes in its first attempt.
        expect(status.tasks[0]).toMatchObject({ state: 'success', attempt: 1, maxAttempts: 1 })
        expect(await taskXcoms(db.database, run1, 't')).toMatchObject([{ value: 1 }])
        // The v2 run is untouched: this worker does not have that code.
        expect((await runStatus(db.database, run2))?.tasks[0]?.state).toBe('queued')
      } finally {
        await worker.stop()
      }
      await cancelRun(db.database, run2)
    })

    it('claims by priority, then age', async () => {
      const p = pipeline('prio')
        .task('low', { priority: 1 }, () => 1)
        .task('high', { priority: 9 }, () => 1)
        .task('mid', { priority: 5 }, () => 1)
      const runId = await triggerPipeline(db.database, p, undefined)
      const claimed = await claimTaskRuns(db.database, {
        workerId: 'w',
        versions: [p.plan().version],
        limit: 3,
        leaseMs: 60_000,
        runId,
      })
      expect(claimed.map((c) => c.task)).toEqual(['high', 'mid', 'low'])
      await cancelRun(db.database, runId)
    })
  })
}
