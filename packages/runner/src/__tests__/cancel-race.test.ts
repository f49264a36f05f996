import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { LeaseLostError } from '../queue/attempt-fence.js'
import { cancelRun } from '../queue/cancel-run.js'
import { claimTaskRuns } from '../queue/claim-task-runs.js'
import { finishAttempt } from '../queue/finish-attempt.js'
import { registerPlans } from '../queue/register-pipelines.js'
import { useFreshDatabase } from '../testing/vitest.js'
import { triggerPipeline } from '../trigger.js'

/*
 * Regression: finish locked the task run, then the run; cancel locked the run, then the task runs,
 * and read their states through a self-join on the statement's snapshot. A completion racing a
 * cancel could deadlock (40P01), or commit its success and then see it relabelled cancelled.
 */
describe('cancel racing completion', () => {
  const db = useFreshDatabase({ poolSize: 16 })

  it('cancels runs while their tasks complete, hundreds of times: no deadlock, no lost success', async () => {
    // `a` completes and promotes `b`; `c` runs beside it; cancel takes every open task of the run.
    const p = pipeline('cancel-race')
      .task('a', () => 1)
      .task('b', { needs: ['a'] }, () => 1)
      .task('c', () => 1)
    await registerPlans(db.database, [p.plan()])
    const version = p.plan().version
    const races = { total: 0, finishWon: 0, cancelWon: 0 }
    for (let round = 0; round < 20; round++) {
      const runIds = await Promise.all(Array.from({ length: 10 }, () => triggerPipeline(db.database, p, {})))
      const outcomes = await Promise.all(
        runIds.map(async (runId) => {
          const claimed = await claimTaskRuns(db.database, {
            workerId: 'w',
            versions: [version],
            limit: 2,
            leaseMs: 60_000,
            runId,
          })
          const a = claimed.find((c) => c.task === 'a')
          if (!a) throw new Error('task a was not claimed')
          const finish = finishAttempt(
            db.database,
            { id: a.id, runId, task: 'a', attempt: a.attempt, claim: a.claim, workerId: 'w' },
            { state: 'success', output: 1, size: 1 },
          ).then(
            () => 'finished' as const,
            (error: unknown) => {
              if (error instanceof LeaseLostError) return 'fenced' as const
              throw error
            },
          )
          const [finished, cancelled] = await Promise.all([finish, cancelRun(db.database, runId)])
          return { runId, finished, cancelled }
        }),
      )
      for (const o of outcomes) {
        races.total++
        const tasks = await db.database.rows<{ task: string; state: string }>(
          sql`select task, state from podline.task_runs where run_id = ${o.runId}::uuid order by task`,
        )
        const state = Object.fromEntries(tasks.map((t) => [t.task, t.state]))
        const cancelledEvents = await db.database.rows<{ n: number }>(
          sql`select count(*)::int as n from podline.events
              where run_id = ${o.runId}::uuid and task = 'a' and to_state = 'cancelled'`,
        )
        // The run had a task left (c), so the cancel always finds it open.
        expect(o.cancelled).toBe(true)
        if (o.finished === 'finished') {
          races.finishWon++
          // A committed success stays a success: never relabelled cancelled.
          expect(state.a).toBe('success')
          expect(cancelledEvents[0]?.n).toBe(0)
        } else {
          races.cancelWon++
          expect(state.a).toBe('cancelled')
        }
        expect(state.b).toBe('cancelled')
        expect(state.c).toBe('cancelled')
      }
    }
    expect(races.total).toBe(200)
    // Both orders happened, or the race was not a race.
    expect(races.finishWon).toBeGreaterThan(0)
    expect(races.cancelWon).toBeGreaterThan(0)
  }, 120_000)
})
