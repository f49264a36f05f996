import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { registerPlans, triggerPipeline, Worker } from '../index.js'
import { LeaseLostError } from '../queue/attempt-fence.js'
import { type ClaimedTaskRun, claimTaskRuns } from '../queue/claim-task-runs.js'
import { type AttemptEnding, finishAttempts } from '../queue/finish-attempt.js'
import { reconcile } from '../queue/reconcile.js'
import { returnUnstarted } from '../queue/release-task-runs.js'
import { databaseErrorMessage } from '../store/database-error.js'
import { attemptRef, waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'
import { CompletionBatch } from '../worker/completion-batch.js'

/*
 * Batched completion and claim ahead keep every guarantee of one completion per transaction: each
 * row is fenced on its own, one ending's fault stays its own, promotions are not lost, and claims
 * that never started cost nothing when they go back.
 */
describe('batched completion and claim ahead', () => {
  const single = pipeline('batched-single').task('only', async () => 1)
  const chain = pipeline('batched-chain')
    .task('a', async () => 'from a')
    .task('b', { needs: ['a'] }, async ({ a }) => `${a} then b`)
  const version = single.plan().version

  const db = useFreshDatabase({ poolSize: 6 })
  beforeAll(async () => {
    await registerPlans(db.database, [single.plan(), chain.plan()])
  })

  const claimSingles = (limit: number, workerId = 'w', startNow?: number) =>
    claimTaskRuns(db.database, {
      workerId,
      versions: [version],
      limit,
      leaseMs: 60_000,
      ...(startNow === undefined ? {} : { startNow }),
    })
  /** A batch of worker `w` that waits 50 ms for up to ten endings and never flushes for idling. */
  const completionBatch = () =>
    new CompletionBatch({
      database: db.database,
      workerId: 'w',
      windowMs: 50,
      maxSize: 10,
      idle: () => false,
    })
  const ending = (c: ClaimedTaskRun, output: unknown, workerId = 'w'): AttemptEnding => ({
    ref: attemptRef(c, workerId, { isLeaf: true }),
    outcome: { state: 'success', output: output as never, size: 1 },
  })
  const runStates = (ids: readonly string[]) =>
    db.database.rows<{ id: string; state: string }>(
      sql`select id::text, state from podline.runs where id = any(${`{${ids.join(',')}}`}::uuid[]) order by id`,
    )

  it('stores many endings in one transaction, each fenced on its own: a stolen lease loses only its row', async () => {
    const runIds = await Promise.all(
      Array.from({ length: 5 }, () => triggerPipeline(db.database, single, {})),
    )
    const claimed = (await claimSingles(5)).filter((c) => runIds.includes(c.runId))
    expect(claimed).toHaveLength(5)
    const stolen = claimed[2] as ClaimedTaskRun
    // Another worker took this one over: this worker's claim is no longer the task run's.
    await db.database.rows(
      sql`update podline.task_runs set lease_owner = 'other', claims = claims + 1 where id = ${stolen.id}::bigint`,
    )
    const stored = await finishAttempts(
      db.database,
      'w',
      claimed.map((c, i) => ending(c, i === 1 ? null : { n: i })),
    )
    expect(stored).toEqual([true, true, false, true, true])
    // One transaction wrote them all: the rows it updated carry its id.
    const writers = await db.database.rows<{ n: number }>(
      sql`select count(distinct xmin::text)::int as n from podline.task_runs
          where id = any(${`{${claimed
            .filter((c) => c !== stolen)
            .map((c) => c.id)
            .join(',')}}`}::bigint[])`,
    )
    expect(writers[0]?.n).toBe(1)
    const xcoms = await db.database.rows<{ run_id: string; value: unknown }>(
      sql`select run_id::text, value from podline.xcoms where task = 'only' and run_id = any(${`{${runIds.join(',')}}`}::uuid[])`,
    )
    // A task that returned null stores null; the fenced-out row stores nothing.
    expect(new Map(xcoms.map((x) => [x.run_id, x.value]))).toEqual(
      new Map(claimed.flatMap((c, i) => (i === 2 ? [] : [[c.runId, i === 1 ? null : { n: i }]]))),
    )
    const states = new Map((await runStates(runIds)).map((r) => [r.id, r.state]))
    expect(claimed.map((c) => states.get(c.runId))).toEqual([
      'success',
      'success',
      'running',
      'success',
      'success',
    ])
  })

  it('a batch the database refuses is stored again one by one: only the faulty ending fails', async () => {
    const runIds = await Promise.all(
      Array.from({ length: 3 }, () => triggerPipeline(db.database, single, {})),
    )
    const claimed = (await claimSingles(3)).filter((c) => runIds.includes(c.runId))
    const batch = completionBatch()
    const endings = claimed.map((c, i) =>
      i === 1
        ? // jsonb refuses a NUL escape: the whole batch's statement fails.
          {
            ...ending(c, 'x'),
            outcome: { state: 'success' as const, output: 'x', size: 8, json: '"\\u0000"' },
          }
        : ending(c, i),
    )
    const results = await Promise.allSettled(endings.map((e) => batch.complete(e)))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(databaseErrorMessage((results[1] as PromiseRejectedResult).reason)).toMatch(
      /unsupported Unicode escape/,
    )
    const states = new Map((await runStates(runIds)).map((r) => [r.id, r.state]))
    expect(claimed.map((c) => states.get(c.runId))).toEqual(['success', 'running', 'success'])
  })

  it('a lost lease in a batch rejects that ending with LeaseLostError and resolves the others', async () => {
    const runIds = await Promise.all(
      Array.from({ length: 2 }, () => triggerPipeline(db.database, single, {})),
    )
    const claimed = (await claimSingles(2)).filter((c) => runIds.includes(c.runId))
    const lost = claimed[0] as ClaimedTaskRun
    await db.database.rows(
      sql`update podline.task_runs set claims = claims + 1 where id = ${lost.id}::bigint`,
    )
    const batch = completionBatch()
    const results = await Promise.allSettled(claimed.map((c) => batch.complete(ending(c, 1))))
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError)
    expect(results[1]?.status).toBe('fulfilled')
  })

  it('claims beyond the free slots start unstarted; returned, they are as if never claimed', async () => {
    const runIds = await Promise.all(
      Array.from({ length: 4 }, () => triggerPipeline(db.database, single, {})),
    )
    const claimed = (await claimSingles(4, 'w', 1)).filter((c) => runIds.includes(c.runId))
    expect(claimed).toHaveLength(4)
    // In the claim's order: the first starts now, the rest wait in the local queue.
    const rows = async () => {
      const found = await db.database.rows<{
        id: string
        state: string
        attempt: number
        started: boolean
        claims: number
      }>(
        sql`select id::text, state, attempt, started_at is not null as started, claims from podline.task_runs
            where id = any(${`{${claimed.map((c) => c.id).join(',')}}`}::bigint[])`,
      )
      return claimed.map((c) => found.find((r) => r.id === c.id))
    }
    expect((await rows()).map((r) => r?.started)).toEqual([true, false, false, false])
    // The next claim records the start of one that the worker has since started from its local queue.
    await claimTaskRuns(db.database, {
      workerId: 'w',
      versions: [version],
      limit: 0,
      leaseMs: 60_000,
      started: [claimed[1]?.id as string],
    })
    expect((await rows()).map((r) => r?.started)).toEqual([true, true, false, false])
    await returnUnstarted(
      db.database,
      'w',
      claimed.slice(2).map((c) => ({ id: c.id, resumed: c.resumed })),
    )
    expect((await rows()).slice(2)).toEqual([
      expect.objectContaining({ state: 'queued', attempt: 0, started: false, claims: 1 }),
      expect.objectContaining({ state: 'queued', attempt: 0, started: false, claims: 1 }),
    ])
    // Claimed again, their first attempt is attempt 1 and the fence has moved on.
    const again = (await claimSingles(10)).filter((c) => claimed.slice(2).some((d) => d.id === c.id))
    expect(again.map((c) => [c.attempt, c.claim])).toEqual([
      [1, 2],
      [1, 2],
    ])
  })

  it("a dead worker's unstarted claims go back without a lease expiry; its started ones are taken over", async () => {
    const runIds = await Promise.all(
      Array.from({ length: 2 }, () => triggerPipeline(db.database, single, {})),
    )
    const claimed = (
      await claimTaskRuns(db.database, {
        workerId: 'dead',
        versions: [version],
        limit: 2,
        leaseMs: 60_000,
        startNow: 1,
      })
    ).filter((c) => runIds.includes(c.runId))
    expect(claimed).toHaveLength(2)
    await db.database.rows(
      sql`update podline.task_runs set lease_expires_at = now() - interval '1 second' where lease_owner = 'dead'`,
    )
    await reconcile(db.database, 'reconciler')
    const rows = await db.database.rows<{
      id: string
      state: string
      attempt: number
      expiries: number
      taken: boolean
    }>(
      sql`select id::text, state, attempt, lease_expiries as expiries, taken_over as taken from podline.task_runs
          where id = any(${`{${claimed.map((c) => c.id).join(',')}}`}::bigint[]) order by id`,
    )
    const inClaimOrder = claimed.map((c) => rows.find((r) => r.id === c.id))
    expect(inClaimOrder.map((r) => [r?.state, r?.attempt, r?.expiries, r?.taken])).toEqual([
      ['queued', 1, 1, true],
      ['queued', 0, 0, false],
    ])
  })

  it('a worker with both on runs a chain and many one-task runs to the end, each downstream task once', async () => {
    const worker = new Worker({
      database: db.database,
      pipelines: [single, chain],
      concurrency: 3,
      claimAhead: 3,
    })
    await worker.start()
    try {
      const runIds = await Promise.all([
        ...Array.from({ length: 40 }, () => triggerPipeline(db.database, single, {})),
        ...Array.from({ length: 5 }, () => triggerPipeline(db.database, chain, {})),
      ])
      await waitUntil('every run to end', async () => {
        const states = await runStates(runIds)
        return states.every((r) => r.state === 'success') || undefined
      })
      const chains = runIds.slice(40)
      const b = await db.database.rows<{ value: unknown; attempt: number }>(
        sql`select value, attempt from podline.xcoms where task = 'b' and run_id = any(${`{${chains.join(',')}}`}::uuid[])`,
      )
      expect(b).toEqual(Array.from({ length: 5 }, () => ({ value: 'from a then b', attempt: 1 })))
      const running = await db.database.rows<{ n: number }>(
        sql`select count(*)::int as n from podline.events where to_state = 'running' and task is not null
            and run_id = any(${`{${runIds.join(',')}}`}::uuid[])`,
      )
      // One claim per task run: nothing was claimed twice.
      expect(running[0]?.n).toBe(40 + 5 * 2)
    } finally {
      await worker.stop()
    }
  })
})
