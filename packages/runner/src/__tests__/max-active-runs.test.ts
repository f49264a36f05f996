import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { triggerPipeline, Worker } from '../index.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

const limited = pipeline('limited', { maxActiveRuns: 2 })
  .task('a', async () => {
    await new Promise((resolve) => setTimeout(resolve, 150))
    return 1
  })
  .task('b', { needs: ['a'] }, async ({ a }) => a + 1)

describe('maxActiveRuns', () => {
  const db = useFreshDatabase({ poolSize: 12 })

  it('runs beyond the limit wait queued, whatever the number of workers and of concurrent triggers', async () => {
    // Ten runs created at once: each creation admits within the limit under the pipeline's lock.
    await Promise.all(Array.from({ length: 10 }, () => triggerPipeline(db.database, limited, {})))
    const states = await db.database.rows<{ state: string; n: number }>(
      sql`select state, count(*)::int as n from podline.runs group by state order by state`,
    )
    expect(states).toEqual([
      { state: 'queued', n: 8 },
      { state: 'running', n: 2 },
    ])
    // The waiting runs' first tasks cannot be claimed: they are pending until the run is started.
    const [claimable] = await db.database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.task_runs where state = 'queued'`,
    )
    expect(claimable?.n).toBe(2)

    const workers = [1, 2, 3].map(
      () =>
        new Worker({
          database: db.database,
          pipelines: [limited],
          concurrency: 8,
          pollMs: 200,
          leaseThread: false,
        }),
    )
    await Promise.all(workers.map((w) => w.start()))
    try {
      await waitUntil('every run to succeed', async () => {
        const [row] = await db.database.rows<{ n: number }>(
          sql`select count(*)::int as n from podline.runs where state = 'success'`,
        )
        return row?.n === 10
      })
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
    // From the runs' own times: never more than two running at once, and two did run together.
    const spans = await db.database.rows<{ started: number; finished: number }>(
      sql`select (extract(epoch from started_at) * 1000)::float8 as started,
                 (extract(epoch from finished_at) * 1000)::float8 as finished from podline.runs`,
    )
    const overlap = Math.max(
      ...spans.map((s) => spans.filter((o) => o.started <= s.started && s.started < o.finished).length),
    )
    expect(overlap).toBe(2)
  }, 60_000)

  it('a bad limit is refused when the pipeline is defined', () => {
    expect(() => pipeline('p', { maxActiveRuns: 0 })).toThrow(
      'pipeline "p": maxActiveRuns must be a positive integer, got 0; leave it out for no limit',
    )
  })
})
