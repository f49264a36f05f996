import { pipeline, type TaskEnded } from '@podline/sdk'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { runLocal, triggerPipeline, Worker } from '../index.js'
import { callbacksOfRun } from '../read-model/run-callbacks.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

type Params = { customer: string }
const calls: Array<{ hook: string; task: TaskEnded<unknown> }> = []
/** Attempts of `extract` per run, so each run fails its first two and succeeds on the third. */
const attempts = new Map<string, number>()

const params = z.object({ customer: z.string() })
const billing = pipeline('billing', {
  params,
  onRetry: (task) => {
    expectTypeOf(task.params).toEqualTypeOf<Params>()
    calls.push({ hook: 'pipeline.onRetry', task })
  },
})
  .task(
    'extract',
    {
      retries: 2,
      retryDelay: 10,
      onRetry: (task) => {
        expectTypeOf(task.params).toEqualTypeOf<Params>()
        calls.push({ hook: 'extract.onRetry', task })
      },
      onSuccess: (task) => {
        calls.push({ hook: 'extract.onSuccess', task })
      },
    },
    async (_in, { runId, params }) => {
      const n = (attempts.get(runId) ?? 0) + 1
      attempts.set(runId, n)
      if (n < 3) throw new Error(`${params.customer}: export not ready (attempt ${n})`)
      return 3
    },
  )
  .task(
    'load',
    {
      needs: ['extract'],
      onFailure: (task) => {
        calls.push({ hook: 'load.onFailure', task })
      },
    },
    async ({ extract }) => {
      throw new Error(`the warehouse refused ${extract} rows`)
    },
  )
  .map(
    'notify',
    {
      needs: ['extract'],
      over: () => ['a', 'b', 'c'],
      onFailure: (task) => {
        calls.push({ hook: 'notify.onFailure', task })
      },
    },
    async (item) => {
      if (item === 'b') throw new Error('b bounced')
      return item
    },
  )

const simple = pipeline('simple-task-hooks').task(
  'boom',
  {
    onFailure: (task) => {
      calls.push({ hook: 'boom.onFailure', task })
    },
  },
  async () => {
    throw new Error('boom')
  },
)

describe('task callbacks', () => {
  const db = useFreshDatabase({ poolSize: 12 })
  const worker = (pipelines = [billing, simple]) =>
    new Worker({ database: db.database, pipelines, concurrency: 4, pollMs: 200, leaseThread: false })

  it("a task's onRetry, onSuccess and onFailure, an item's onFailure and the pipeline's onRetry each run once per event, typed", async () => {
    calls.length = 0
    await expect(runLocal(billing, { customer: 'acme' }, { database: db.database })).rejects.toThrow(
      'the warehouse refused 3 rows',
    )
    const seen = calls.map((c) => [c.hook, c.task.task, c.task.mapIndex, c.task.attempt, c.task.state])
    expect(seen).toEqual(
      expect.arrayContaining([
        ['extract.onRetry', 'extract', null, 1, 'up_for_retry'],
        ['extract.onRetry', 'extract', null, 2, 'up_for_retry'],
        ['pipeline.onRetry', 'extract', null, 1, 'up_for_retry'],
        ['pipeline.onRetry', 'extract', null, 2, 'up_for_retry'],
        ['extract.onSuccess', 'extract', null, 3, 'success'],
        ['load.onFailure', 'load', null, 1, 'failed'],
        ['notify.onFailure', 'notify', 1, 1, 'failed'],
      ]),
    )
    expect(seen).toHaveLength(7)
    const retry = calls.find((c) => c.hook === 'extract.onRetry')?.task
    expect(retry).toMatchObject({
      pipeline: 'billing',
      params: { customer: 'acme' },
      error: 'acme: export not ready (attempt 1)',
      logicalDate: null,
    })
    expect(calls.find((c) => c.hook === 'extract.onSuccess')?.task.error).toBeNull()
    expect(calls.find((c) => c.hook === 'load.onFailure')?.task.error).toBe('the warehouse refused 3 rows')

    // What `podline status` and the UI list, by the names users wrote.
    const runId = retry?.runId ?? ''
    const listed = (await callbacksOfRun(db.database, runId)).map((c) => [c.event, c.task, c.state])
    expect(listed).toEqual(
      expect.arrayContaining([
        ['task_retry', 'extract', 'success'],
        ['retry', 'extract', 'success'],
        ['task_success', 'extract', 'success'],
        ['task_failure', 'load', 'success'],
        ['task_failure', 'notify', 'success'],
      ]),
    )
    expect(listed).toHaveLength(7)
  }, 30_000)

  it('with workers racing, each of 40 failed task runs gets exactly one onFailure', async () => {
    calls.length = 0
    const workers = [worker([simple]), worker([simple]), worker([simple])]
    await Promise.all(workers.map((w) => w.start()))
    try {
      const runIds = await Promise.all(
        Array.from({ length: 40 }, () => triggerPipeline(db.database, simple, {})),
      )
      await waitUntil(
        'every onFailure to run',
        () => calls.filter((c) => c.hook === 'boom.onFailure').length >= runIds.length,
        30_000,
      )
      // Every run's end is recorded and its callback finished: a second call would have come by now.
      await waitUntil(
        'every callback to be recorded',
        async () => {
          const lists = await Promise.all(runIds.map((id) => callbacksOfRun(db.database, id)))
          return lists.every((l) => l.length === 1 && l[0]?.state === 'success')
        },
        30_000,
      )
      const called = calls.filter((c) => c.hook === 'boom.onFailure').map((c) => c.task.runId)
      expect(called.sort()).toEqual([...runIds].sort())
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
  }, 60_000)

  it('a task callback that is not a function is refused when the pipeline is defined', () => {
    expect(() =>
      // @ts-expect-error onRetry is a function of the task's attempt
      pipeline('p').task('t', { onRetry: 'page me' }, async () => 1),
    ).toThrow(
      'task "t": onRetry must be a function of the task\'s attempt, e.g. onRetry: async (task) => notify(task.error)',
    )
  })

  it('a task without callbacks keeps the plan it had: its version does not change', () => {
    const plain = pipeline('same').task('t', async () => 1)
    const hooked = pipeline('same').task('t', { onFailure: () => {} }, async () => 1)
    expect(plain.plan().tasks[0]).not.toHaveProperty('callbacks')
    expect(hooked.plan().tasks[0]?.callbacks).toEqual(['task_failure'])
    expect(hooked.plan().version).not.toBe(plain.plan().version)
  })
})
