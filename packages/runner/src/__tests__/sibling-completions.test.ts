import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { claimTaskRuns, finishAttempt, registerPlans, triggerPipeline } from '../index.js'
import type { ClaimedTaskRun } from '../queue/claim-task-runs.js'
import { attemptRef } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

/*
 * Regression: sibling tasks of one run that completed at the same moment deadlocked. Each completion
 * inserts its XCom and event (foreign keys to the run: a FOR KEY SHARE lock on the run row), then
 * locked the run row FOR UPDATE to serialise promotion; two such transactions each waited for the
 * other's key-share lock until PostgreSQL's deadlock detector killed one (40P01, after a second), so
 * a wide fan-out crawled at about one completion per second.
 */
describe('sibling tasks completing together', () => {
  const db = useFreshDatabase({ poolSize: 12 })

  it('all complete, none deadlocks, and the fan-in is queued once', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `s${i}`)
    let p = pipeline('siblings').task('root', async () => 1) as unknown as {
      task(n: string, o: { needs: string[] }, f: () => Promise<number>): typeof p
    }
    for (const n of names) p = p.task(n, { needs: ['root'] }, async () => 1)
    const fan = p.task('join', { needs: names }, async () => 1) as unknown as Parameters<
      typeof triggerPipeline
    >[1]
    await registerPlans(db.database, [fan.plan()])
    const runId = await triggerPipeline(db.database, fan, {})
    const version = fan.plan().version
    const claim = () =>
      claimTaskRuns(db.database, { workerId: 'w', versions: [version], limit: 20, leaseMs: 60_000 })
    const finish = (c: ClaimedTaskRun) =>
      finishAttempt(
        db.database,
        { ...attemptRef(c, 'w'), runId },
        {
          state: 'success',
          output: 1,
          size: 1,
        },
      )
    const [root] = await claim()
    if (!root) throw new Error('the root task was not claimed')
    await finish(root)
    const siblings = await claim()
    expect(siblings).toHaveLength(10)
    const settled = await Promise.allSettled(siblings.map(finish))
    const errors = settled.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []))
    expect(errors).toEqual([])
    const next = await claim()
    expect(next.map((c) => c.task)).toEqual(['join'])
  })
})
