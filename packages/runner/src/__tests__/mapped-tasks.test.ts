import { type AnyPipeline, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  cancelRun,
  claimTaskRuns,
  finishAttempt,
  mappedItems,
  retryRun,
  runLocal,
  runOutputs,
  runStatus,
  TaskRunError,
  triggerPipeline,
} from '../index.js'
import { finishAttempts } from '../queue/finish-attempt.js'
import { useFreshDatabase } from '../testing/vitest.js'
import { waitForRun } from '../wait-for-run.js'
import { Worker } from '../worker/worker.js'

const db = useFreshDatabase()

/** Runs `p` and returns the run id as well as the outputs (or the error). */
async function run(p: AnyPipeline) {
  let runId = ''
  const result = await runLocal(p, undefined, {
    database: db.database,
    concurrency: 4,
    onRun: (id) => {
      runId = id
    },
  }).catch((error: unknown) => error)
  return { runId, result }
}

describe('a mapped task', () => {
  it('runs one task run per item, at most maxParallel at once, and hands the array downstream in item order', async () => {
    let running = 0
    let most = 0
    const p = pipeline('per-file')
      .task('list', async () => ({ files: ['a.csv', 'bb.csv', 'ccc.csv', 'dddd.csv', 'e.csv'] }))
      .map(
        'count',
        { needs: ['list'], over: ({ list }) => list.files, maxParallel: 2 },
        async (file, _inputs, ctx) => {
          running++
          most = Math.max(most, running)
          // Later items finish first, so the order of the output is the items', not the completions'.
          await new Promise((r) => setTimeout(r, 5 * (5 - (ctx.mapIndex ?? 0))))
          running--
          ctx.log.info(`counted ${file}`)
          return { file, rows: file.length, index: ctx.mapIndex ?? -1 }
        },
      )
      .task('total', { needs: ['count'] }, async ({ count }) => count.reduce((s, c) => s + c.rows, 0))
    const { runId, result } = await run(p)
    expect(result).toEqual({
      list: { files: ['a.csv', 'bb.csv', 'ccc.csv', 'dddd.csv', 'e.csv'] },
      count: [
        { file: 'a.csv', rows: 5, index: 0 },
        { file: 'bb.csv', rows: 6, index: 1 },
        { file: 'ccc.csv', rows: 7, index: 2 },
        { file: 'dddd.csv', rows: 8, index: 3 },
        { file: 'e.csv', rows: 5, index: 4 },
      ],
      total: 31,
    })
    expect(most).toBeLessThanOrEqual(2)
    expect(most).toBeGreaterThanOrEqual(1)
    const items = await db.database.rows<{
      map_index: number
      state: string
      attempt: number
      logs: number
    }>(sql`
      select t.map_index, t.state, t.attempt,
             (select count(*)::int from podline.task_logs l
              where l.run_id = t.run_id and l.task = t.task and l.map_index = t.map_index) as logs
      from podline.task_runs t where t.run_id = ${runId}::uuid and t.task = 'count' order by t.map_index`)
    expect(items).toEqual([
      { map_index: -1, state: 'success', attempt: 1, logs: 0 },
      ...[0, 1, 2, 3, 4].map((i) => ({ map_index: i, state: 'success', attempt: 1, logs: 1 })),
    ])
    expect((await runStatus(db.database, runId))?.tasks.map((t) => t.task)).toEqual([
      'list',
      'count',
      'total',
    ])
    expect((await mappedItems(db.database, runId)).count).toEqual({
      total: 5,
      byState: { success: 5 },
      failed: [],
    })
  })

  it('completes at once with [] when over returns no items', async () => {
    const p = pipeline('empty')
      .task('list', () => [] as string[])
      .map('each', { needs: ['list'], over: ({ list }) => list }, (x) => x.length)
      .task('after', { needs: ['each'] }, ({ each }) => each.length)
    const { result } = await run(p)
    expect(result).toEqual({ list: [], each: [], after: 0 })
  })

  it('fails with a clear message when over returns a non-array or throws', async () => {
    const notArray = pipeline('not-array')
      .task('list', () => ({ files: 'a.csv' }))
      .map('each', { needs: ['list'], over: ({ list }) => list.files as unknown as string[] }, (x) => x)
    const { result: a } = await run(notArray)
    expect(a).toBeInstanceOf(TaskRunError)
    expect((a as Error).message).toBe(
      'task "each" failed: over of mapped task "each" returned a string, not an array: return the list of items, one task run each ([] for none)',
    )
    const throws = pipeline('over-throws').map(
      'each',
      {
        over: (): string[] => {
          throw new Error('no listing')
        },
      },
      (x) => x,
    )
    const { result: b } = await run(throws)
    expect((b as Error).message).toBe('task "each" failed: over of mapped task "each" threw: no listing')
  })

  it('fails when an item fails after its retries; the others run, and trigger rules see one upstream; retry runs the failed items alone', async () => {
    const calls: number[] = []
    let healed = false
    const p = pipeline('item-fails')
      .map('each', { over: () => [1, 2, 3], retries: 1, retryDelay: 0 }, (n) => {
        calls.push(n)
        if (n === 2 && !healed) throw new Error(`bad item ${n}`)
        return n * 10
      })
      .task('sum', { needs: ['each'] }, ({ each }) => each.length)
      .task('report', { needs: ['each'], triggerRule: 'all_done' }, ({ each }) => each ?? 'none')
    const { runId, result } = await run(p)
    expect((result as Error).message).toBe('task "each" failed: 1 of 3 items failed: item 1: bad item 2')
    const status = await runStatus(db.database, runId)
    expect(status?.tasks.map((t) => [t.task, t.state])).toEqual([
      ['each', 'failed'],
      ['sum', 'upstream_failed'],
      ['report', 'success'],
    ])
    expect(status?.items.each).toEqual({
      total: 3,
      byState: { success: 2, failed: 1 },
      failed: [{ index: 1, state: 'failed', attempt: 2, error: 'bad item 2' }],
    })
    expect(calls.sort()).toEqual([1, 2, 2, 3])

    healed = true
    calls.length = 0
    expect(await retryRun(db.database, runId, 'each')).toBeGreaterThan(0)
    const worker = new Worker({
      database: db.database,
      pipelines: [p],
      runId,
      pollMs: 200,
      leaseThread: false,
    })
    await worker.start()
    try {
      await waitForRun(db.database, runId, { pollMs: 200 })
    } finally {
      await worker.stop({ drainMs: 2000 })
    }
    expect(calls).toEqual([2])
    const after = await runStatus(db.database, runId)
    expect(after?.run.state).toBe('success')
    expect(after?.tasks.map((t) => [t.task, t.state])).toEqual([
      ['each', 'success'],
      ['sum', 'success'],
      ['report', 'success'],
    ])
    expect((await runOutputs(db.database, runId)).each).toEqual([10, 20, 30])
  })

  it('cancelling the run cancels the mapped task and its items, running or waiting under maxParallel', async () => {
    const controller = new AbortController()
    let started = 0
    const p = pipeline('cancelled-items').map(
      'each',
      { over: () => [1, 2, 3, 4, 5, 6], maxParallel: 2, timeout: '30s' },
      async (n, _inputs, ctx) => {
        if (++started === 2) controller.abort()
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))
        return n
      },
    )
    let runId = ''
    const error = await runLocal(p, undefined, {
      database: db.database,
      signal: controller.signal,
      onRun: (id) => {
        runId = id
      },
    }).catch((e: unknown) => e)
    expect((error as Error).name).toBe('RunCancelledError')
    const rows = await db.database.rows<{ map_index: number; state: string; timeout_ms: number }>(sql`
      select map_index, state, timeout_ms from podline.task_runs where run_id = ${runId}::uuid order by map_index`)
    expect(rows.map((r) => r.state)).toEqual(Array(7).fill('cancelled'))
    // Every option applies per item: each has the task's timeout.
    expect(rows.every((r) => r.timeout_ms === 30_000)).toBe(true)
    // Each item's cancellation is logged as that item's (the task's own row has no map index).
    const cancelledEvents = await db.database.rows<{ map_index: number | null }>(sql`
      select map_index from podline.events
      where run_id = ${runId}::uuid and to_state = 'cancelled' and task is not null order by map_index nulls first`)
    expect(cancelledEvents.map((e) => e.map_index)).toEqual([null, 0, 1, 2, 3, 4, 5])
  })

  it('items over returns that PostgreSQL cannot store, or over the XCom limit, fail the task once with the reason', async () => {
    let calls = 0
    const nul = pipeline('over-nul').map(
      'each',
      { over: () => ['ok', 'bad\u0000', 'x'], retries: 2 },
      (s: string) => {
        calls++
        return s
      },
    )
    const refused = await run(nul)
    expect((refused.result as Error).message).toMatch(
      /the items over of mapped task "each" returned: \$\[1\] contains a NUL character \(\\u0000\), which PostgreSQL cannot store/,
    )
    const lone = pipeline('over-surrogate').map('each', { over: () => [{ name: 'a\uD800' }] }, (s) => s)
    expect(((await run(lone)).result as Error).message).toMatch(
      /\$\[0\]\.name contains a lone UTF-16 surrogate/,
    )
    const huge = pipeline('over-huge').map(
      'each',
      { over: () => ['small', 'x'.repeat(2 * 1024 * 1024)] },
      (s) => s.length,
    )
    const tooLarge = await run(huge)
    expect((tooLarge.result as Error).message).toMatch(
      /item 1 of over of mapped task "each" is 2(\.0)? MiB .*over the XCom size limit of 1(\.0)? MiB/,
    )
    expect(calls).toBe(0)
    const attempts = await db.database.rows<{ attempt: number }>(sql`
      select attempt from podline.task_runs where run_id = ${refused.runId}::uuid and task = 'each' and map_index = -1`)
    expect(attempts).toEqual([{ attempt: 1 }])
  })

  it('items whose outputs weigh more together than one jsonb holds (256 MB) reach the downstream task whole', async () => {
    // 270 items of 1 MB: each within the XCom limit, 270 MB together. The task's own row names the
    // items instead of holding their array, which PostgreSQL refused as one value (SQLSTATE 54000).
    const MB = 1_000_000
    const p = pipeline('heavy-items')
      .map(
        'make',
        { over: () => Array.from({ length: 270 }, (_, i) => i), maxParallel: 8 },
        (i: number) => `${String(i).padStart(3, '0')}${'x'.repeat(MB - 3)}`,
      )
      .task('check', { needs: ['make'] }, ({ make }) => ({
        count: make.length,
        bytes: make.reduce((sum, value) => sum + value.length, 0),
        ordered: make.every((value, i) => value.startsWith(String(i).padStart(3, '0'))),
      }))
    const runId = await triggerPipeline(db.database, p, {})
    const worker = new Worker({ database: db.database, pipelines: [p], concurrency: 4, runId })
    await worker.start()
    try {
      expect(await waitForRun(db.database, runId, { signal: AbortSignal.timeout(150_000) })).toBe('success')
    } finally {
      await worker.stop()
    }
    const outputs = await runOutputs(db.database, runId)
    expect(outputs.check).toEqual({ count: 270, bytes: 270 * MB, ordered: true })
    const [parent] = await db.database.rows<{ value: unknown; size: number }>(sql`
      select value, size from podline.xcoms where run_id = ${runId}::uuid and task = 'make' and map_index = -1`)
    expect(parent).toEqual({ value: { $podline: { items: 270 } }, size: 270 * (MB + 2) })
  }, 180_000)

  it("an item's claim carries no upstream values: the items of one task share them, read once per worker", async () => {
    const files = Array.from({ length: 300 }, (_, i) => `file-${i}.csv`)
    const p = pipeline('shared-inputs')
      .task('list', async () => ({ files, bucket: 'raw' }))
      .map(
        'read',
        { needs: ['list'], over: ({ list }) => list.files },
        async (file, { list }) => `${list.bucket}/${file}`,
      )
    const out = await run(p)
    expect(out.result).toMatchObject({ read: files.map((f) => `raw/${f}`) })

    // At the queue: a claimed item names its inputs instead of carrying the 300-file list again.
    const runId = await triggerPipeline(db.database, p, {})
    const claim = () =>
      claimTaskRuns(db.database, {
        workerId: 'w',
        versions: [p.plan().version],
        limit: 5,
        leaseMs: 60_000,
        runId,
      })
    const [list] = await claim()
    if (!list) throw new Error('the list task was not claimed')
    expect(list.inputs).toEqual({})
    await finishAttempt(
      db.database,
      { ...list, workerId: 'w' },
      { state: 'success', output: { files, bucket: 'raw' }, size: 1 },
    )
    const [parent] = await claim()
    if (!parent) throw new Error('the mapped task was not claimed')
    expect(parent.inputs).toEqual({ list: { files, bucket: 'raw' } })
    await finishAttempt(db.database, { ...parent, workerId: 'w' }, { state: 'expanded', items: files })
    const items = await claim()
    expect(items).toHaveLength(5)
    for (const item of items) {
      expect(item.inputs).toBeNull()
      expect(item.inputsKey).toMatch(/^list@[0-9.]+$/)
    }
    expect(new Set(items.map((i) => i.inputsKey)).size).toBe(1)
    await cancelRun(db.database, runId)
  })

  it('items that end in one completion batch under maxParallel queue as many of the pending ones: the window stays full', async () => {
    const p = pipeline('window').map('each', { over: () => [], maxParallel: 5 }, (n: number) => n)
    const runId = await triggerPipeline(db.database, p, {})
    const claim = (limit: number) =>
      claimTaskRuns(db.database, {
        workerId: 'w',
        versions: [p.plan().version],
        limit,
        leaseMs: 60_000,
        runId,
      })
    const [parent] = await claim(1)
    if (!parent) throw new Error('the mapped task was not claimed')
    const items = Array.from({ length: 12 }, (_, i) => i)
    await finishAttempt(db.database, { ...parent, workerId: 'w' }, { state: 'expanded', items })
    const first = await claim(10)
    expect(first).toHaveLength(5)
    // All five end in one batch, as a worker's completion batch stores them.
    await finishAttempts(
      db.database,
      'w',
      first.map((c) => ({
        ref: { ...c, workerId: 'w', isLeaf: false },
        outcome: { state: 'success', output: c.mapIndex ?? -1, size: 1 },
      })),
    )
    const [counts] = await db.database.rows<{ queued: number; pending: number }>(sql`
      select count(*) filter (where state = 'queued')::int as queued,
             count(*) filter (where state = 'pending')::int as pending
      from podline.task_runs where run_id = ${runId}::uuid and map_index >= 0`)
    expect(counts).toEqual({ queued: 5, pending: 2 })
    await cancelRun(db.database, runId)
  })

  it('expands 10,000 items in one transaction: maxParallel of them queued, the rest pending, one event each', async () => {
    const p = pipeline('wide').map('each', { over: () => [], maxParallel: 50 }, (n: number) => n)
    const runId = await triggerPipeline(db.database, p, {})
    const [parent] = await claimTaskRuns(db.database, {
      workerId: 'w',
      versions: [p.plan().version],
      limit: 1,
      leaseMs: 60_000,
      runId,
    })
    if (!parent) throw new Error('the mapped task was not claimed')
    const items = Array.from({ length: 10_000 }, (_, i) => ({ file: `f${i}.csv` }))
    await finishAttempt(db.database, { ...parent, workerId: 'w' }, { state: 'expanded', items })
    const [counts] = await db.database.rows<{
      queued: number
      pending: number
      events: number
      last: unknown
    }>(sql`
      select count(*) filter (where state = 'queued')::int as queued,
             count(*) filter (where state = 'pending')::int as pending,
             (select count(*)::int from podline.events e where e.run_id = ${runId}::uuid and e.map_index is not null) as events,
             (select map_item from podline.task_runs where run_id = ${runId}::uuid and map_index = 9999) as last
      from podline.task_runs where run_id = ${runId}::uuid and map_index >= 0`)
    expect(counts).toEqual({ queued: 50, pending: 9_950, events: 10_000, last: { file: 'f9999.csv' } })
    // A second expansion of the same claim is refused by the fence: nothing is doubled.
    await expect(
      finishAttempt(db.database, { ...parent, workerId: 'w' }, { state: 'expanded', items }),
    ).rejects.toThrow(/no longer holds its lease; its items were not created/)
    await cancelRun(db.database, runId)
  })
})
