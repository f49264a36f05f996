import { pipeline, type RunEnded } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { runLocal, triggerPipeline, Worker } from '../index.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

type Params = { customer: string; strict: boolean }
const calls: Array<{ hook: string; run: RunEnded<Params>; try: number }> = []
/** How many tries of `flaky` throw before one succeeds (Infinity: every one). */
let flakyThrows = 0

const params = z.object({ customer: z.string(), strict: z.boolean().default(false) })
const nightly = pipeline('nightly', {
  params,
  onFailure: async (run, ctx) => {
    expectTypeOf(run.params).toEqualTypeOf<Params>()
    calls.push({ hook: 'onFailure', run, try: ctx.try })
  },
  onSuccess: (run, ctx) => {
    calls.push({ hook: 'onSuccess', run, try: ctx.try })
  },
})
  .task('extract', async (_in, { params }) => {
    if (params.customer === 'broken') throw new Error('the export is empty')
    return 1
  })
  .task('load', { needs: ['extract'] }, async ({ extract }) => extract + 1)

const flaky = pipeline('flaky-hook', {
  onFailure: (run, ctx) => {
    calls.push({ hook: 'flaky', run: run as unknown as RunEnded<Params>, try: ctx.try })
    if (ctx.try <= flakyThrows) throw new Error(`pager unreachable (try ${ctx.try})`)
  },
}).task('boom', async () => {
  throw new Error('boom')
})

const callbackRows = (db: ReturnType<typeof useFreshDatabase>, runId: string) =>
  db.database.rows<{ event: string; state: string; tries: number; error: string | null }>(
    sql`select event, state, tries, error from podline.run_callbacks where run_id = ${runId}::uuid`,
  )

const untilCallbacksEnd = (db: ReturnType<typeof useFreshDatabase>, runIds: string[]) =>
  waitUntil(
    'the callbacks to end',
    async () => {
      const [row] = await db.database.rows<{ n: number }>(sql`
        select count(*)::int as n from podline.run_callbacks
        where run_id = any(array(select jsonb_array_elements_text(${JSON.stringify(runIds)}::jsonb)::uuid))
          and state in ('success', 'failed')`)
      return row?.n === runIds.length
    },
    30_000,
  )

describe('run callbacks', () => {
  const db = useFreshDatabase({ poolSize: 12 })
  const worker = (pipelines = [nightly, flaky]) =>
    new Worker({ database: db.database, pipelines, concurrency: 4, pollMs: 200, leaseThread: false })

  it('onFailure gets the failed run with its params typed and its failed task; onSuccess the succeeded one; each once', async () => {
    calls.length = 0
    const w = worker()
    await w.start()
    try {
      const failed = await triggerPipeline(db.database, nightly, { customer: 'broken' })
      const succeeded = await triggerPipeline(db.database, nightly, { customer: 'acme' })
      await untilCallbacksEnd(db, [failed, succeeded])
      expect(calls.map((c) => [c.hook, c.run.runId])).toEqual(
        expect.arrayContaining([
          ['onFailure', failed],
          ['onSuccess', succeeded],
        ]),
      )
      expect(calls).toHaveLength(2)
      const failure = calls.find((c) => c.hook === 'onFailure')
      expect(failure?.run).toMatchObject({
        pipeline: 'nightly',
        state: 'failed',
        params: { customer: 'broken', strict: false },
        failedTasks: [{ task: 'extract', attempt: 1, error: 'the export is empty' }],
        logicalDate: null,
      })
      expect(failure?.try).toBe(1)
      expect(calls.find((c) => c.hook === 'onSuccess')?.run.failedTasks).toEqual([])
      expect(await callbackRows(db, failed)).toEqual([
        { event: 'failure', state: 'success', tries: 1, error: null },
      ])
    } finally {
      await w.stop()
    }
  })

  it('a callback that throws is tried again, 1 s then 2 s later; one that always throws fails after three tries with its error', async () => {
    calls.length = 0
    const w = worker()
    await w.start()
    try {
      flakyThrows = 2
      const recovers = await triggerPipeline(db.database, flaky, {})
      await untilCallbacksEnd(db, [recovers])
      expect(await callbackRows(db, recovers)).toEqual([
        { event: 'failure', state: 'success', tries: 3, error: null },
      ])
      flakyThrows = Number.POSITIVE_INFINITY
      const never = await triggerPipeline(db.database, flaky, {})
      await untilCallbacksEnd(db, [never])
      expect(await callbackRows(db, never)).toEqual([
        { event: 'failure', state: 'failed', tries: 3, error: 'pager unreachable (try 3)' },
      ])
      expect(calls.filter((c) => c.run.runId === never).map((c) => c.try)).toEqual([1, 2, 3])
    } finally {
      await w.stop()
    }
  }, 30_000)

  it('with workers racing, each of 60 failed runs gets exactly one onFailure', async () => {
    calls.length = 0
    const workers = [worker([nightly]), worker([nightly]), worker([nightly])]
    await Promise.all(workers.map((w) => w.start()))
    try {
      const runIds = await Promise.all(
        Array.from({ length: 60 }, () => triggerPipeline(db.database, nightly, { customer: 'broken' })),
      )
      await untilCallbacksEnd(db, runIds)
      const called = calls.filter((c) => c.hook === 'onFailure').map((c) => c.run.runId)
      expect(called.sort()).toEqual([...runIds].sort())
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
  }, 60_000)

  it('runLocal runs the callback before it answers', async () => {
    calls.length = 0
    await expect(runLocal(nightly, { customer: 'broken' }, { database: db.database })).rejects.toThrow(
      'the export is empty',
    )
    expect(calls.map((c) => c.hook)).toEqual(['onFailure'])
  })

  it('a callback that is not a function is refused when the pipeline is defined', () => {
    // @ts-expect-error onFailure is a function of the run
    expect(() => pipeline('p', { onFailure: 'page me' })).toThrow(
      'pipeline "p": onFailure must be a function of the run, e.g. onFailure: async (run) => notify(run.runId)',
    )
  })
})

const lateCalls: Array<{ runId: string; state: string; deadlineAt: string }> = []
const late = pipeline('late-report', {
  params: z.object({ ms: z.number() }),
  deadline: { after: '400ms' },
  onDeadline: (run) => {
    expectTypeOf(run.params).toEqualTypeOf<{ ms: number }>()
    lateCalls.push({ runId: run.runId, state: run.state, deadlineAt: run.deadlineAt })
  },
}).task('work', async (_in, { params, signal }) => {
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, params.ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason)
    })
  })
  return params.ms
})

describe('deadlines', () => {
  const db = useFreshDatabase()

  it('a run still running past its deadline is marked once and gets onDeadline once; one that finished in time gets neither', async () => {
    lateCalls.length = 0
    const w = new Worker({
      database: db.database,
      pipelines: [late],
      concurrency: 4,
      pollMs: 200,
      leaseThread: false,
    })
    await w.start()
    try {
      const slow = await triggerPipeline(db.database, late, { ms: 3000 })
      const quick = await triggerPipeline(db.database, late, { ms: 10 })
      await untilCallbacksEnd(db, [slow])
      await waitUntil('both runs to end', async () => {
        const [row] = await db.database.rows<{ n: number }>(
          sql`select count(*)::int as n from podline.runs where state = 'success'`,
        )
        return row?.n === 2
      })
      const runs = await db.database.rows<{
        id: string
        missed: boolean
        deadline: number
        created: number
      }>(sql`
        select id, deadline_missed_at is not null as missed,
               (extract(epoch from deadline_at) * 1000)::float8 as deadline,
               (extract(epoch from created_at) * 1000)::float8 as created
        from podline.runs`)
      expect(runs.find((r) => r.id === slow)?.missed).toBe(true)
      expect(runs.find((r) => r.id === quick)?.missed).toBe(false)
      for (const r of runs) expect(Math.round(r.deadline - r.created)).toBe(400)
      expect(lateCalls).toEqual([
        {
          runId: slow,
          state: 'running',
          deadlineAt: new Date(runs.find((r) => r.id === slow)?.deadline as number).toISOString(),
        },
      ])
      expect(await callbackRows(db, quick)).toEqual([])
      // The mark is an event of the run, with the deadline it missed.
      const [event] = await db.database.rows<{ message: string }>(
        sql`select message from podline.events where run_id = ${slow}::uuid and message like 'missed its deadline%'`,
      )
      expect(event?.message).toMatch(/^missed its deadline of \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    } finally {
      await w.stop()
    }
  }, 30_000)

  it('onDeadline without a deadline, or a deadline from an unknown point, is refused when the pipeline is defined', () => {
    expect(() => pipeline('p', { onDeadline: () => {} })).toThrow(
      `pipeline "p": onDeadline needs a deadline, e.g. deadline: { after: '2h', from: 'logicalDate' }`,
    )
    expect(() =>
      // @ts-expect-error from is 'queued' or 'logicalDate'
      pipeline('p', { deadline: { after: '1h', from: 'started' } }),
    ).toThrow(`pipeline "p": deadline.from must be 'queued' or 'logicalDate', got "started"`)
    expect(() => pipeline('p', { deadline: { after: '0s' } })).toThrow(
      `pipeline "p": deadline.after must be more than 0, e.g. '2h'`,
    )
  })
})
