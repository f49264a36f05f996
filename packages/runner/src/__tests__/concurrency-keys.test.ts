import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { triggerPipeline, triggerPlan, Worker } from '../index.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

const sync = pipeline('sync-customer', {
  params: z.object({ customer: z.string(), n: z.number() }),
  concurrency: { key: ({ params }) => params.customer },
})
  .task('pull', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100))
    return 1
  })
  .task('push', { needs: ['pull'] }, async ({ pull }, { params }) => pull + params.n)

/** Each run's key, order of creation and running interval, from the runs' own times. */
async function runSpans(db: ReturnType<typeof useFreshDatabase>) {
  return db.database.rows<{ key: string; n: number; created: number; started: number; finished: number }>(sql`
    select concurrency_key as key, (params->>'n')::int as n,
           (extract(epoch from created_at) * 1000)::float8 as created,
           (extract(epoch from started_at) * 1000)::float8 as started,
           (extract(epoch from finished_at) * 1000)::float8 as finished
    from podline.runs order by created_at, id`)
}

const workersFor = (db: ReturnType<typeof useFreshDatabase>, count: number) =>
  Array.from(
    { length: count },
    () =>
      new Worker({
        database: db.database,
        pipelines: [sync],
        concurrency: 8,
        pollMs: 200,
        leaseThread: false,
      }),
  )

describe('concurrency keys', () => {
  const db = useFreshDatabase({ poolSize: 12 })

  it('runs with one key run one at a time, in the order they were created; other keys do not wait', async () => {
    // Sequential triggers, so the order of creation is the order each key's runs must start in.
    for (let n = 0; n < 12; n++)
      await triggerPipeline(db.database, sync, { customer: n % 3 === 0 ? 'globex' : 'acme', n })
    const [open] = await db.database.rows<{ running: number; queued: number }>(sql`
      select count(*) filter (where state = 'running')::int as running,
             count(*) filter (where state = 'queued')::int as queued from podline.runs`)
    // One of each key started at its creation; the rest wait, their roots unclaimable.
    expect(open).toEqual({ running: 2, queued: 10 })

    const workers = workersFor(db, 3)
    await Promise.all(workers.map((w) => w.start()))
    try {
      await waitUntil(
        'every run to succeed',
        async () => {
          const [row] = await db.database.rows<{ n: number }>(
            sql`select count(*)::int as n from podline.runs where state = 'success'`,
          )
          return row?.n === 12
        },
        30_000,
      )
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
    const spans = await runSpans(db)
    for (const key of ['acme', 'globex']) {
      const mine = spans.filter((s) => s.key === key)
      // Never two at once: each starts after the one before it finished, in creation order.
      for (let i = 1; i < mine.length; i++)
        expect(mine[i]?.started, `${key} run ${mine[i]?.n}`).toBeGreaterThanOrEqual(
          mine[i - 1]?.finished as number,
        )
    }
    // The two keys did run side by side.
    const sideBySide = spans.some((a) =>
      spans.some((b) => a.key !== b.key && a.started < b.finished && b.started < a.finished),
    )
    expect(sideBySide).toBe(true)
  }, 60_000)

  it('a run triggered without the code (podline trigger, the UI) gets its key from a worker; a key that cannot be computed fails the run with the reason', async () => {
    const plan = sync.plan()
    const { registerPlans } = await import('../queue/register-pipelines.js')
    await registerPlans(db.database, [plan])
    const good = await triggerPlan(db.database, plan, { customer: 'initech', n: 1 })
    // A stored plan cannot run zod: params its JSON Schema lets through but the key cannot use.
    const keyless = pipeline('keyless', {
      params: z.object({ customer: z.string() }),
      concurrency: {
        key: ({ params }) => {
          if (params.customer === 'nobody') throw new Error('no such customer')
          return params.customer
        },
      },
    }).task('t', async () => 1)
    await registerPlans(db.database, [keyless.plan()])
    const bad = await triggerPlan(db.database, keyless.plan(), { customer: 'nobody' })
    const [before] = await db.database.rows<{ key: string | null; state: string }>(
      sql`select concurrency_key as key, state from podline.runs where id = ${good}::uuid`,
    )
    expect(before).toEqual({ key: null, state: 'queued' })

    const worker = new Worker({
      database: db.database,
      pipelines: [sync, keyless],
      concurrency: 4,
      pollMs: 200,
      leaseThread: false,
    })
    await worker.start()
    try {
      await waitUntil('both runs to end', async () => {
        const rows = await db.database.rows<{ n: number }>(
          sql`select count(*)::int as n from podline.runs
              where id in (${good}::uuid, ${bad}::uuid) and state in ('success', 'failed')`,
        )
        return rows[0]?.n === 2
      })
    } finally {
      await worker.stop()
    }
    const rows = await db.database.rows<{ id: string; key: string | null; state: string }>(
      sql`select id, concurrency_key as key, state from podline.runs where id in (${good}::uuid, ${bad}::uuid)`,
    )
    expect(rows.find((r) => r.id === good)).toMatchObject({ key: 'initech', state: 'success' })
    expect(rows.find((r) => r.id === bad)).toMatchObject({ key: null, state: 'failed' })
    const [failed] = await db.database.rows<{ error: string }>(
      sql`select error from podline.task_runs where run_id = ${bad}::uuid`,
    )
    expect(failed?.error).toBe(
      'the concurrency key of pipeline "keyless" threw: no such customer; the run cannot start',
    )
  }, 60_000)

  it('a trigger with the code refuses a key it cannot compute, and creates nothing', async () => {
    const odd = pipeline('odd-key', {
      params: z.object({ customer: z.string() }),
      concurrency: { key: ({ params }) => params.customer.repeat(500), limit: 2 },
    }).task('t', async () => 1)
    await expect(triggerPipeline(db.database, odd, { customer: 'ab' })).rejects.toThrow(
      'the concurrency key of pipeline "odd-key" must be a string of 1 to 200 characters, got a string of 1000; ' +
        'return a short identifier such as params.customer; no run was created',
    )
    const [row] = await db.database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.runs where pipeline = 'odd-key'`,
    )
    expect(row?.n).toBe(0)
  })

  it('a bad limit or a missing key function is refused when the pipeline is defined', () => {
    expect(() => pipeline('p', { concurrency: { key: () => 'k', limit: 0 } })).toThrow(
      'pipeline "p": concurrency.limit must be a positive integer, got 0; leave it out for 1',
    )
    expect(() =>
      // @ts-expect-error the key function is required
      pipeline('p', { concurrency: { limit: 2 } }),
    ).toThrow('pipeline "p": concurrency needs a key function')
  })
})
