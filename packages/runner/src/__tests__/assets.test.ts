import { type AnyPipeline, all, any, asset, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  AssetEmitError,
  AssetSchemaConflictError,
  createAssetRuns,
  emitAssetEvent,
  listAssets,
  pruneFinishedRuns,
  RunsFromAssetsError,
  registerPlans,
  triggerPipeline,
  triggerPlan,
  Worker,
} from '../index.js'
import { registerWorker } from '../queue/workers.js'
import { runEnded, waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

const orders = asset('warehouse.orders', z.object({ date: z.string(), rows: z.number() }))
const customers = asset('crm.customers', z.object({ count: z.number() }))

/** What the consumers' tasks received, by run: the workers share this process. */
const seen: Array<{ pipeline: string; runId: string; assets: Record<string, unknown> }> = []

const producer = pipeline('load-orders', { params: z.object({ rows: z.number() }) }).task(
  'load',
  { produces: orders },
  async (_inputs, { params }) => ({ date: '2026-12-07', rows: params.rows }),
)

const report = pipeline('orders-report', { on: orders }).task('sum', (_inputs, ctx) => {
  seen.push({ pipeline: ctx.pipeline, runId: ctx.runId, assets: { ...ctx.assets } })
  return ctx.assets['warehouse.orders'].value.rows
})

const both = pipeline('orders-and-customers', { on: all(orders, customers) }).task('join', (_in, ctx) => {
  seen.push({ pipeline: ctx.pipeline, runId: ctx.runId, assets: { ...ctx.assets } })
  return ctx.assets['warehouse.orders'].value.rows + ctx.assets['crm.customers'].value.count
})

const either = pipeline('orders-or-customers', { on: any(orders, customers) }).task('note', (_in, ctx) => {
  seen.push({ pipeline: ctx.pipeline, runId: ctx.runId, assets: { ...ctx.assets } })
  return Object.keys(ctx.assets)
})

const worker = (
  db: ReturnType<typeof useFreshDatabase>,
  pipelines: readonly AnyPipeline[] = [producer, report, both, either],
) => new Worker({ database: db.database, pipelines, concurrency: 8, pollMs: 200, leaseThread: false })

async function withWorkers<T>(
  db: ReturnType<typeof useFreshDatabase>,
  count: number,
  body: () => Promise<T>,
  pipelines?: Parameters<typeof worker>[1],
): Promise<T> {
  const workers = Array.from({ length: count }, () => worker(db, pipelines))
  await Promise.all(workers.map((w) => w.start()))
  try {
    return await body()
  } finally {
    await Promise.all(workers.map((w) => w.stop()))
  }
}

const runsOf = (db: ReturnType<typeof useFreshDatabase>, name: string) =>
  db.database.rows<{
    id: string
    state: string
    asset_event_id: number
    assets: Record<string, { id: string }>
  }>(
    sql`select id, state, asset_event_id, assets from podline.runs where pipeline = ${name} order by asset_event_id`,
  )

describe('typed assets', () => {
  const db = useFreshDatabase({ poolSize: 24 })

  it('runs a consumer once per producer success, across two workers, its task reading the event typed and linked', async () => {
    seen.length = 0
    await withWorkers(db, 2, async () => {
      // A consumer takes the events recorded from its first pass on: wait for its cursors.
      await waitUntil('the consumers’ cursors', async () => {
        const rows = await db.database.rows(sql`select 1 from podline.asset_cursors`)
        return rows.length === 5
      })
      const producers = await Promise.all(
        [3, 5, 8].map((rows) => triggerPipeline(db.database, producer, { rows })),
      )
      await Promise.all(producers.map((id) => runEnded(db.database, id)))
      const consumed = await waitUntil('three report runs to succeed', async () => {
        const runs = await runsOf(db, 'orders-report')
        return runs.length === 3 && runs.every((r) => r.state === 'success') && runs
      })
      expect(consumed).toHaveLength(3)
      const received = seen.filter((s) => s.pipeline === 'orders-report')
      expect(received).toHaveLength(3)
      const events = received.map((s) => s.assets['warehouse.orders'] as Record<string, unknown>)
      expect(events.map((e) => (e.value as { rows: number }).rows).sort()).toEqual([3, 5, 8])
      for (const e of events) {
        expect(e.createdAt).toBeInstanceOf(Date)
        const link = e.producer as { pipeline: string; runId: string; task: string }
        expect(link.pipeline).toBe('load-orders')
        expect(link.task).toBe('load')
        expect(producers).toContain(link.runId)
      }
      // any(): each event of either asset made its own run, with that one event.
      await waitUntil(
        'three runs of orders-or-customers',
        async () => (await runsOf(db, 'orders-or-customers')).length === 3,
      )
      // all(): no customers event yet, so no run.
      expect(await runsOf(db, 'orders-and-customers')).toHaveLength(0)
      await emitAssetEvent(db.database, 'crm.customers', { count: 40 })
      const [joined] = await waitUntil('one run of orders-and-customers', async () => {
        const runs = await runsOf(db, 'orders-and-customers')
        return runs.length === 1 && runs[0]?.state === 'success' && runs
      })
      // The newest event of each asset: the orders of the last producer run to succeed.
      expect(Object.keys(joined?.assets ?? {}).sort()).toEqual(['crm.customers', 'warehouse.orders'])
      await waitUntil('a fourth run of orders-or-customers, for the customers event', async () => {
        const runs = await runsOf(db, 'orders-or-customers')
        return runs.length === 4 && runs.every((r) => r.state === 'success')
      })
      // The customers event alone does not make a second all() run: orders has had nothing since.
      expect(await runsOf(db, 'orders-and-customers')).toHaveLength(1)
    })
  })

  it('makes exactly one run per event when 1,000 are emitted at once to four workers', async () => {
    const counter = pipeline('count-customers', { on: customers }).task(
      'count',
      (_in, ctx) => ctx.assets['crm.customers'].value.count,
    )
    const before = await db.database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.runs where pipeline = 'count-customers'`,
    )
    expect(before[0]?.n).toBe(0)
    await withWorkers(
      db,
      4,
      async () => {
        // The consumer's cursor starts at its first pass: wait for it before emitting.
        await waitUntil('the consumer’s cursor', async () => {
          const rows = await db.database.rows(
            sql`select 1 from podline.asset_cursors where pipeline = 'count-customers'`,
          )
          return rows.length === 1
        })
        const emitted = await Promise.all(
          Array.from({ length: 1000 }, (_, i) => emitAssetEvent(db.database, 'crm.customers', { count: i })),
        )
        await waitUntil(
          '1,000 runs of count-customers',
          async () => {
            const [row] = await db.database.rows<{ n: number }>(
              sql`select count(*)::int as n from podline.runs where pipeline = 'count-customers'`,
            )
            return (row?.n ?? 0) >= 1000
          },
          120_000,
        )
        const runs = await runsOf(db, 'count-customers')
        expect(runs).toHaveLength(1000)
        expect(new Set(runs.map((r) => String(r.asset_event_id)))).toEqual(new Set(emitted))
      },
      [counter],
    )
  }, 180_000)

  it('does not skip an event whose transaction commits after a later event’s: both make their runs, in order', async () => {
    const ordered = asset('ordered.ticks', z.object({ n: z.number() }))
    const consumer = pipeline('ordered-consumer', { on: ordered }).task('see', () => 1)
    // The pass alone, by hand: a live worker serving the version puts it in force.
    await registerPlans(db.database, [consumer.plan()])
    await registerWorker(db.database, {
      id: 'ordered-pass',
      hostname: 'test',
      pid: process.pid,
      versions: [consumer.plan().version],
      concurrency: 1,
      leaseMs: 60_000,
    })
    const pass = () => createAssetRuns(db.database, [consumer])
    expect(await pass()).toMatchObject({ created: 0, pending: false })
    const runs = async () =>
      (
        await db.database.rows<{ n: number }>(
          sql`select (assets -> 'ordered.ticks' -> 'value' ->> 'n')::int as n from podline.runs
              where pipeline = 'ordered-consumer' order by created_at`,
        )
      ).map((r) => r.n)
    // Event 1 is written first, in a transaction that stays open while event 2 commits.
    await db.database.db.transaction(async (tx) => {
      await db.database.rows(
        sql`insert into podline.asset_events (asset, value) values ('ordered.ticks', '{"n":1}')`,
        tx,
      )
      await emitAssetEvent(db.database, 'ordered.ticks', { n: 2 })
      // Taking event 2 now would move the cursor past event 1 before it is visible: it waits.
      expect(await pass()).toMatchObject({ created: 0, pending: true })
      expect(await runs()).toEqual([])
    })
    // Transactions of other databases on the server count too (transaction ids are the server's):
    // pass until they have ended.
    await waitUntil('both runs made', async () => {
      await pass()
      return (await runs()).length === 2
    })
    expect(await runs()).toEqual([1, 2])
    expect(await pass()).toMatchObject({ created: 0 })
  })

  it('refuses a value that fails the asset’s schema, an unknown asset, and a task whose output does not match', async () => {
    const error = await emitAssetEvent(db.database, 'warehouse.orders', { date: 7 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AssetEmitError)
    expect((error as AssetEmitError).message).toBe(
      `the value for asset "warehouse.orders" failed its schema: value: must have required property 'rows'; date: must be string; no event was recorded`,
    )
    await expect(emitAssetEvent(db.database, 'no.such.asset', {})).rejects.toThrow(
      'no registered pipeline declares asset "no.such.asset"',
    )
    // A plain-JavaScript caller (or a cast) gets past the types: the worker checks the output.
    const liar = pipeline('lying-loader').task(
      'load',
      { produces: orders },
      async () => ({ date: 'x', rows: 'many' }) as unknown as { date: string; rows: number },
    )
    const [before] = await db.database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.asset_events`,
    )
    const status = await withWorkers(
      db,
      1,
      async () => runEnded(db.database, await triggerPipeline(db.database, liar, {})),
      [liar],
    )
    expect(status.run.state).toBe('failed')
    expect(JSON.stringify(status)).toContain(
      'produces asset \\"warehouse.orders\\", whose schema it must match: no event was recorded',
    )
    const [after] = await db.database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.asset_events`,
    )
    expect(after?.n).toBe(before?.n)
  })

  it('refuses to trigger a pipeline on assets by hand: its tasks would find no event', async () => {
    const error = await triggerPipeline(db.database, report, {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RunsFromAssetsError)
    expect((error as Error).message).toBe(
      `pipeline "orders-report" runs on asset events (any of warehouse.orders), and its tasks read them as ctx.assets: a run created by hand would have none. Record an event instead, e.g. podline assets emit warehouse.orders --json '{…}', with a worker serving the pipeline; no run was created`,
    )
    await expect(triggerPlan(db.database, both.plan(), {})).rejects.toThrow(
      'pipeline "orders-and-customers" runs on asset events (all of warehouse.orders, crm.customers)',
    )
  })

  it('refuses to register a pipeline declaring an asset with another pipeline’s different schema, naming both', async () => {
    await registerPlans(db.database, [producer.plan()])
    const changed = asset('warehouse.orders', z.object({ date: z.string(), rows: z.string() }))
    const reader = pipeline('orders-reader', { on: changed }).task('read', () => 1)
    const error = await registerPlans(db.database, [reader.plan()]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AssetSchemaConflictError)
    const message = (error as Error).message
    expect(message).toContain(`by pipeline "orders-reader"@${reader.plan().version}`)
    expect(message).toContain(`by pipeline "load-orders"@${producer.plan().version}`)
    const [stored] = await db.database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.pipelines where name = 'orders-reader'`,
    )
    expect(stored?.n).toBe(0)
    // Only each pipeline's newest version counts: once it no longer declares the asset, another
    // schema is free to take the name.
    const first = asset('solo.thing', z.object({ a: z.string() }))
    const second = asset('solo.thing', z.object({ a: z.number() }))
    await registerPlans(db.database, [
      pipeline('solo-a')
        .task('t', { produces: first }, () => ({ a: 'x' }))
        .plan(),
    ])
    await registerPlans(db.database, [
      pipeline('solo-a')
        .task('t', () => 1)
        .plan(),
    ])
    await registerPlans(db.database, [
      pipeline('solo-b', { on: second })
        .task('t', () => 1)
        .plan(),
    ])
  })

  it('lists each asset with its producers, consumers and newest event', async () => {
    const listed = await listAssets(db.database)
    const ordersListing = listed.find((a) => a.name === 'warehouse.orders')
    expect(ordersListing?.producers).toEqual([
      { pipeline: 'load-orders', task: 'load' },
      { pipeline: 'lying-loader', task: 'load' },
    ])
    expect(ordersListing?.consumers.map((c) => c.pipeline).sort()).toEqual([
      'orders-and-customers',
      'orders-or-customers',
      'orders-report',
    ])
    expect(ordersListing?.lastEvent?.producer?.pipeline).toBe('load-orders')
    const customersListing = listed.find((a) => a.name === 'crm.customers')
    expect(customersListing?.lastEvent?.producer).toBeNull()
  })
})

describe('retention of asset events', () => {
  const db = useFreshDatabase()

  it('deletes old events every consumer has taken and no run holds, keeping each asset’s newest and those still needed', async () => {
    const ticks = asset('retention.ticks', z.object({ n: z.number() }))
    const counter = pipeline('retention-count', { on: ticks }).task(
      'count',
      (_in, ctx) => ctx.assets['retention.ticks'].value.n,
    )
    const slowReader = pipeline('retention-slow', { on: ticks }).task('read', () => 1)
    await registerPlans(db.database, [counter.plan(), slowReader.plan()])
    // Both consumers' cursors, as their first passes make them.
    await db.database.rows(sql`
      insert into podline.asset_cursors (pipeline, asset, after_tx, after_id)
      values ('retention-count', 'retention.ticks', 0, 0), ('retention-slow', 'retention.ticks', 0, 0)`)
    const ids: string[] = []
    for (let n = 0; n < 5; n++) ids.push(await emitAssetEvent(db.database, 'retention.ticks', { n }))
    await withWorkers(
      db,
      1,
      () =>
        waitUntil('five finished runs of retention-count', async () => {
          const [row] = await db.database.rows<{ n: number }>(
            sql`select count(*)::int as n from podline.runs where pipeline = 'retention-count' and state = 'success'`,
          )
          return row?.n === 5
        }),
      [counter],
    )
    const eventsLeft = async () =>
      (
        await db.database.rows<{ id: string }>(
          sql`select id::text as id from podline.asset_events where asset = 'retention.ticks' order by id`,
        )
      ).map((r) => r.id)
    await db.database.rows(sql`update podline.asset_events set created_at = now() - interval '40 days'`)
    await db.database.rows(
      sql`update podline.runs set finished_at = now() - interval '40 days' where pipeline = 'retention-count'`,
    )
    const prune = () => pruneFinishedRuns(db.database, { olderThanMs: 30 * 86_400_000 })
    // retention-slow has taken none of them (its cursor is before them all): every event stays.
    expect(await prune()).toBe(5)
    expect(await eventsLeft()).toEqual(ids)
    // Its newest version no longer runs on the asset: its cursor goes, and with it the hold.
    await registerPlans(db.database, [
      pipeline('retention-slow')
        .task('read', () => 2)
        .plan(),
    ])
    // A run that still holds event 2 keeps it.
    await db.database.rows(sql`
      insert into podline.runs (id, pipeline, version, params, state, assets, asset_event_id)
      values (gen_random_uuid(), 'retention-count', 'v', '{}', 'running',
              ${JSON.stringify({ 'retention.ticks': { id: ids[2], value: { n: 2 }, createdAt: new Date().toISOString(), producer: null } })}::jsonb,
              null)`)
    await prune()
    expect(await eventsLeft()).toEqual([ids[2], ids[4]])
  })
})
