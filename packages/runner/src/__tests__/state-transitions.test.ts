import { readFileSync } from 'node:fs'
import { type AnyPipeline, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { CLAIMABLE_TASK_STATES, TASK_STATES, type TaskState } from '../engine/states.js'
import { nextTaskState, TASK_TRANSITIONS, transitionsBetween } from '../engine/task-state-machine.js'
import { cancelRun } from '../queue/cancel-run.js'
import { type ClaimedTaskRun, claimTaskRuns } from '../queue/claim-task-runs.js'
import { type AttemptOutcome, finishAttempt } from '../queue/finish-attempt.js'
import { reconcile } from '../queue/reconcile.js'
import { releaseTaskRuns } from '../queue/release-task-runs.js'
import { retryRun } from '../queue/retry-run.js'
import { attemptRef } from '../testing/index.js'
import { useStore } from '../testing/vitest.js'
import { triggerPipeline } from '../trigger.js'

const pair = (from: string, to: string) => `${from} → ${to}`

/** Every (from, to) pair the state machine allows, whichever transition makes it. */
const LEGAL = new Set(
  TASK_STATES.flatMap((from) =>
    TASK_STATES.filter((to) => transitionsBetween(from, to).length > 0).map((to) => pair(from, to)),
  ),
)

/*
 * The state machine is the one the SQL follows: drive every statement that moves a task run (claim,
 * finish, promotion, reconcile, release, cancel, retry) and check each transition it recorded in the
 * events table against engine/task-state-machine.ts. Regression: retryRun moved success → pending,
 * which the machine forbade.
 */
for (const driver of ['postgres', 'pglite'] as const) {
  describe(`the SQL's transitions on ${driver}`, () => {
    const db = useStore(driver)

    const claimAll = async (p: AnyPipeline, runId: string, leaseMs = 60_000) => {
      await db.database.rows(
        sql`update podline.task_runs set available_at = now() where run_id = ${runId}::uuid and state = 'up_for_retry'`,
      )
      const claimed = await claimTaskRuns(db.database, {
        workerId: 'w',
        versions: [p.plan().version],
        limit: 10,
        leaseMs,
        runId,
      })
      return Object.fromEntries(claimed.map((c) => [c.task, c])) as Record<string, ClaimedTaskRun>
    }
    const finish = (c: ClaimedTaskRun | undefined, outcome: AttemptOutcome) => {
      if (!c) throw new Error('the task was not claimed')
      return finishAttempt(db.database, attemptRef(c, 'w'), outcome)
    }
    const ok: AttemptOutcome = { state: 'success', output: 1, size: 1 }
    const failed: AttemptOutcome = { state: 'failed', error: 'boom' }

    it('every transition the SQL records is one the state machine allows, and every kind happens', async () => {
      const runs: string[] = []
      // Success, retry, promotion to queued; cancel of queued, up_for_retry; retry of cancelled.
      const chain = pipeline('sm-chain')
        .task('a', () => 1)
        .task('b', { needs: ['a'] }, () => 1)
        .task('c', { retries: 1 }, () => 1)
      const r1 = await triggerPipeline(db.database, chain, {})
      runs.push(r1)
      let t = await claimAll(chain, r1)
      await finish(t.a, ok)
      await finish(t.c, { state: 'up_for_retry', error: 'again', retryDelayMs: 60_000 })
      await cancelRun(db.database, r1)
      await retryRun(db.database, r1)
      // Cancel of running and pending, then retry to queued and pending.
      const r2 = await triggerPipeline(db.database, chain, {})
      runs.push(r2)
      t = await claimAll(chain, r2)
      await cancelRun(db.database, r2)
      await retryRun(db.database, r2)
      // Failure, upstream_failed, then retry of both; up_for_retry → running.
      const r3 = await triggerPipeline(db.database, chain, {})
      runs.push(r3)
      t = await claimAll(chain, r3)
      await finish(t.a, failed)
      await finish(t.c, { state: 'up_for_retry', error: 'again', retryDelayMs: 0 })
      t = await claimAll(chain, r3)
      await finish(t.c, ok)
      await retryRun(db.database, r3)
      // Skips: a task that skips itself, a downstream skipped by its rule; retry of success and skipped.
      const rules = pipeline('sm-rules')
        .task('a', () => 1)
        .task('on-fail', { needs: ['a'], triggerRule: 'one_failed' }, () => 1)
        .task('after', { needs: ['a'] }, () => 1)
        .task('self', () => 1)
      const r4 = await triggerPipeline(db.database, rules, {})
      runs.push(r4)
      t = await claimAll(rules, r4)
      await finish(t.a, ok)
      await finish(t.self, { state: 'skipped', reason: 'nothing to do' })
      t = await claimAll(rules, r4)
      await finish(t.after, failed)
      await retryRun(db.database, r4, 'a')
      // Lease expiry (taken over, then exhausted) and a drain hand-back.
      const single = pipeline('sm-single').task('t', () => 1)
      const r5 = await triggerPipeline(db.database, single, {})
      runs.push(r5)
      t = await claimAll(single, r5)
      await releaseTaskRuns(db.database, 'w', [t.t!.id])
      t = await claimAll(single, r5, 1)
      await db.database.rows(sql`update podline.task_runs set lease_expires_at = now() - interval '1 second'`)
      await reconcile(db.database, null)
      await db.database.rows(sql`update podline.task_runs set lease_expiries = 2 where run_id = ${r5}::uuid`)
      t = await claimAll(single, r5, 1)
      await db.database.rows(
        sql`update podline.task_runs set lease_expires_at = now() - interval '1 second' where run_id = ${r5}::uuid`,
      )
      await reconcile(db.database, null)

      // A mapped task: expansion (with items, and without), maxParallel's promotion, its end, retry of its items.
      const mapped = pipeline('sm-mapped')
        .map('each', { over: () => [1, 2], maxParallel: 1 }, (n) => n)
        .map('none', { over: () => [] as number[] }, (n) => n)
      const r6 = await triggerPipeline(db.database, mapped, {})
      runs.push(r6)
      t = await claimAll(mapped, r6)
      await finish(t.each, { state: 'expanded', items: [1, 2] })
      await finish(t.none, { state: 'expanded', items: [] })
      const claimItem = async () => {
        const [item] = await claimTaskRuns(db.database, {
          workerId: 'w',
          versions: [mapped.plan().version],
          limit: 1,
          leaseMs: 60_000,
          runId: r6,
        })
        if (!item) throw new Error('no item was claimable')
        return { ...item, workerId: 'w' }
      }
      await finishAttempt(db.database, await claimItem(), failed)
      await finishAttempt(db.database, await claimItem(), ok)
      await retryRun(db.database, r6, 'each')

      const events = await db.database.rows<{ from: TaskState; to: TaskState }>(
        sql`select from_state as "from", to_state as "to" from podline.events
            where task is not null and from_state is not null
              and run_id = any(array(select jsonb_array_elements_text(${JSON.stringify(runs)}::jsonb)::uuid))`,
      )
      const seen = new Set(events.map((e) => pair(e.from, e.to)))
      expect([...seen].filter((p) => !LEGAL.has(p))).toEqual([])
      // Every kind of transition happened at least once (each variant of TaskTransition).
      const kinds = new Set(
        events.flatMap((e) => transitionsBetween(e.from, e.to).map((tr) => JSON.stringify(tr))),
      )
      expect(TASK_TRANSITIONS.map((tr) => JSON.stringify(tr)).filter((k) => !kinds.has(k))).toEqual([])
      expect(seen).toContain(pair('success', 'queued'))
      expect(seen).toContain(pair('skipped', 'pending'))
      expect(seen).toContain(pair('failed', 'pending'))
    })

    it('the database refuses a state that TASK_STATES or RUN_STATES does not name', async () => {
      await expect(
        db.database.rows(sql`update podline.task_runs set state = 'finished' where true`),
      ).rejects.toThrow()
      await expect(db.database.rows(sql`update podline.runs set state = 'done' where true`)).rejects.toThrow()
    })
  })
}

describe('the state machine', () => {
  it('allows retrying a succeeded task (retrying one task reruns its downstream tasks)', () => {
    expect(nextTaskState('success', { type: 'retry', upstreamsReady: false })).toBe('pending')
  })
})

describe('the KEDA scaler', () => {
  const file = new URL('../../../../infra/k8s/overlays/keda/scaled-object.yaml', import.meta.url)
  const triggers = parseAllDocuments(readFileSync(file, 'utf8')).flatMap(
    (d) =>
      (d.toJS() as { spec?: { triggers?: Array<{ name: string; metadata: { query: string } }> } }).spec
        ?.triggers ?? [],
  )
  const statesIn = (query: string) => [...query.matchAll(/state = '([a-z_]+)'/g)].map((m) => m[1])

  it('counts only states that TASK_STATES names', () => {
    const used = triggers.flatMap((t) => statesIn(t.metadata.query))
    expect(used.length).toBeGreaterThan(0)
    expect(used.filter((s) => !(TASK_STATES as readonly string[]).includes(s ?? ''))).toEqual([])
  })

  it('wakes for every state a claim takes, and for running work', () => {
    const byName = Object.fromEntries(triggers.map((t) => [t.name, statesIn(t.metadata.query)]))
    expect(new Set([...(byName.queued ?? []), ...(byName.retrying ?? [])])).toEqual(
      new Set(CLAIMABLE_TASK_STATES),
    )
    expect(byName.running).toEqual(['running'])
  })
})
