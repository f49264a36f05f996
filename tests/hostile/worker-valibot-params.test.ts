import { runStatus, taskLogLines, triggerPlan, Worker } from '@podline/runner'
import { runEnded } from '@podline/runner/testing'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { describe, expect, it } from 'vitest'
import { podline } from '../../apps/cli/src/__tests__/cli.js'
import { spawnHostileWorker } from './fixtures/worker-child.js'
import { valibotParams } from './fixtures/worker-pipelines.js'

describe('params of a schema library that yields no JSON Schema', () => {
  const db = useFreshDatabase()

  it('valibot params that fail fail the whole run before its first task runs, and trigger --wait prints why', async () => {
    expect(valibotParams.plan().paramsJsonSchema).toBeUndefined()
    const worker = spawnHostileWorker({ ...db.env, LEASE_MS: '5000' })
    try {
      await worker.until((l) => l.type === 'ready')
      const r = await podline(['trigger', 'hostile-valibot', '--params', '{"date":5}', '--wait'], {
        env: db.env,
      })
      expect(r.code, r.stderr).toBe(1)
      expect(r.stdout).toMatch(
        /run \S+ failed: .*params of run \S+ failed validation: date: Invalid type: Expected string but received 5/,
      )
      const runId = /run (\S+) failed/.exec(r.stdout)?.[1] ?? ''
      const status = await runStatus(db.database, runId)
      expect(status?.run.state).toBe('failed')
      // The tasks claimed failed on the params, once each, fatally; the rest never started; no task's code ran.
      expect(status?.tasks.map((t) => [t.task, t.state, t.attempt])).toEqual([
        ['first', 'failed', 1],
        ['second', 'failed', 1],
        ['last', 'upstream_failed', 0],
      ])
      expect(await taskLogLines(db.database, runId)).toEqual([])
    } finally {
      await worker.stop()
    }
  })

  it('tasks not yet claimed when the params fail end upstream_failed with the reason, and the run fails at once', async () => {
    const worker = new Worker({ database: db.database, pipelines: [valibotParams], concurrency: 1 })
    await worker.start()
    try {
      // As `podline trigger` does: from the stored plan, which has no JSON Schema to check against.
      const runId = await triggerPlan(db.database, valibotParams.plan(), { date: 7 })
      const status = await runEnded(db.database, runId, 20_000)
      expect(status.run.state).toBe('failed')
      expect(status.tasks.map((t) => [t.task, t.state, t.attempt])).toEqual([
        ['first', 'failed', 1],
        ['second', 'upstream_failed', 0],
        ['last', 'upstream_failed', 0],
      ])
      expect(status.tasks[1]?.error).toMatch(/params of run \S+ failed validation: date: Invalid type/)
    } finally {
      await worker.stop({ drainMs: 1000 })
    }
  })
})
