import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { InvalidParamsError, triggerPipeline, triggerPlan, Worker } from '../index.js'
import { registerPlans } from '../queue/register-pipelines.js'
import { runTasks } from '../read-model/run-status.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

/** The task runs of `load` running now, and the most ever seen, per warehouse (the workers share this process). */
const running = new Map<string, number>()
const most = new Map<string, number>()
/** The order `load` started in, per warehouse, by the run's n. */
const started = new Map<string, number[]>()

const warehouse = pipeline('load-warehouse', {
  params: z.object({ warehouse: z.string(), n: z.number() }),
})
  .task('prepare', async (_in, { params }) => params.n)
  .task(
    'load',
    { needs: ['prepare'], concurrency: { key: ({ params }) => params.warehouse, limit: 2 } },
    async ({ prepare }, { params }) => {
      const now = (running.get(params.warehouse) ?? 0) + 1
      running.set(params.warehouse, now)
      most.set(params.warehouse, Math.max(most.get(params.warehouse) ?? 0, now))
      started.set(params.warehouse, [...(started.get(params.warehouse) ?? []), params.n])
      await new Promise((resolve) => setTimeout(resolve, 30))
      running.set(params.warehouse, (running.get(params.warehouse) ?? 1) - 1)
      return prepare
    },
  )

const serial = pipeline('serial-export', { params: z.object({ account: z.string(), n: z.number() }) }).task(
  'export',
  { concurrency: { key: ({ params }) => params.account } },
  async (_in, { params }) => {
    started.set(`serial:${params.account}`, [...(started.get(`serial:${params.account}`) ?? []), params.n])
    await new Promise((resolve) => setTimeout(resolve, 10))
    return params.n
  },
)

const order: string[] = []
const tiers = pipeline('tiered-sync', {
  params: z.object({ shop: z.string(), tier: z.enum(['gold', 'basic']) }),
}).task('sync', { priority: ({ params }) => (params.tier === 'gold' ? 10 : 0) }, async (_in, { params }) => {
  order.push(params.shop)
  return params.shop
})

const worker = (
  db: ReturnType<typeof useFreshDatabase>,
  pipelines = [warehouse, serial, tiers],
  concurrency = 8,
) => new Worker({ database: db.database, pipelines, concurrency, pollMs: 200, leaseThread: false })

const untilRunsEnd = (db: ReturnType<typeof useFreshDatabase>, count: number) =>
  waitUntil(
    `${count} runs to succeed`,
    async () => {
      const [row] = await db.database.rows<{ n: number }>(
        sql`select count(*)::int as n from podline.runs where state = 'success'`,
      )
      return row?.n === count
    },
    60_000,
  )

describe("a task's concurrency key", () => {
  const db = useFreshDatabase({ poolSize: 16 })

  it('runs at most its limit of task runs per key at once across runs and four workers; other keys run beside them', async () => {
    running.clear()
    most.clear()
    const workers = [worker(db), worker(db), worker(db), worker(db)]
    await Promise.all(workers.map((w) => w.start()))
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, n) =>
          triggerPipeline(db.database, warehouse, { warehouse: n % 2 === 0 ? 'north' : 'south', n }),
        ),
      )
      await untilRunsEnd(db, 40)
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
    // Never above the limit, and the limit reached: the key is what held them back.
    expect(Object.fromEntries(most)).toEqual({ north: 2, south: 2 })
    const [stored] = await db.database.rows<{ keys: string[]; waiting: number }>(sql`
      select array_agg(distinct concurrency_key order by concurrency_key) as keys,
             count(*) filter (where available_at = 'infinity')::int as waiting
      from podline.task_runs where task = 'load'`)
    expect(stored).toEqual({ keys: ['north', 'south'], waiting: 0 })
  }, 90_000)

  it('with a limit of 1, starts the task runs of one key in the order of their runs', async () => {
    started.clear()
    // Created before any worker runs: every one waits for its key, in the order of its run.
    const runIds: string[] = []
    for (let n = 0; n < 8; n++)
      runIds.push(await triggerPipeline(db.database, serial, { account: 'acme', n }))
    // What `podline status` shows of a task run that waits for its key.
    const [second] = await runTasks(db.database, runIds[1] ?? '')
    expect(second).toMatchObject({ state: 'queued', concurrencyKey: 'acme', waitsForKey: true })
    const [waiting] = await db.database.rows<{ n: number }>(sql`
      select count(*)::int as n from podline.task_runs where task = 'export' and available_at = 'infinity'`)
    expect(waiting?.n).toBe(7)
    const workers = [worker(db), worker(db)]
    await Promise.all(workers.map((w) => w.start()))
    try {
      await untilRunsEnd(db, 40 + 8)
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
    expect(started.get('serial:acme')).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  }, 60_000)

  it('a run triggered without the code gets its tasks’ keys and priorities from a worker', async () => {
    await registerPlans(db.database, [serial.plan(), tiers.plan()])
    const runId = await triggerPlan(db.database, serial.plan(), { account: 'initech', n: 0 })
    const [before] = await db.database.rows<{ pending: boolean; key: string | null; state: string }>(sql`
      select r.task_values_pending as pending, t.concurrency_key as key, t.state
      from podline.runs r join podline.task_runs t on t.run_id = r.id where r.id = ${runId}::uuid`)
    expect(before).toEqual({ pending: true, key: null, state: 'pending' })
    const w = worker(db)
    await w.start()
    try {
      await untilRunsEnd(db, 40 + 8 + 1)
    } finally {
      await w.stop()
    }
    const [after] = await db.database.rows<{ pending: boolean; key: string | null }>(sql`
      select r.task_values_pending as pending, t.concurrency_key as key
      from podline.runs r join podline.task_runs t on t.run_id = r.id where r.id = ${runId}::uuid`)
    expect(after).toEqual({ pending: false, key: 'initech' })
  }, 60_000)

  it('refuses a limit that is not a positive integer when the pipeline is defined', () => {
    expect(() =>
      pipeline('p').task('t', { concurrency: { key: () => 'k', limit: 0 } }, async () => 1),
    ).toThrow('task "t": concurrency.limit must be a positive integer, got 0; leave it out for 1')
  })
})

describe('a priority computed from the params', () => {
  const db = useFreshDatabase({ poolSize: 8 })

  it('orders the claim: gold shops first, then by age', async () => {
    order.length = 0
    for (const [shop, tier] of [
      ['a', 'basic'],
      ['b', 'gold'],
      ['c', 'basic'],
      ['d', 'gold'],
    ] as const)
      await triggerPipeline(db.database, tiers, { shop, tier })
    const priorities = await db.database.rows<{ priority: number }>(
      sql`select priority from podline.task_runs order by id`,
    )
    expect(priorities.map((p) => p.priority)).toEqual([0, 10, 0, 10])
    // One slot: the claim's order is the order they run in.
    const w = worker(db, [tiers], 1)
    await w.start()
    try {
      await untilRunsEnd(db, 4)
    } finally {
      await w.stop()
    }
    expect(order).toEqual(['b', 'd', 'a', 'c'])
  }, 30_000)

  it('refuses at trigger a priority that is not an integer, and creates nothing', async () => {
    const odd = pipeline('odd-priority', { params: z.object({ p: z.number() }) }).task(
      't',
      { priority: ({ params }) => params.p },
      async () => 1,
    )
    const error = await triggerPipeline(db.database, odd, { p: 1.5 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidParamsError)
    expect((error as Error).message).toBe(
      'the priority of task "t" of pipeline "odd-priority" must be an integer between -1000000 and 1000000, got 1.5; no run was created',
    )
  })
})
