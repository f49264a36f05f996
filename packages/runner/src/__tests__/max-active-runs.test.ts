import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, openDatabase, triggerPipeline, Worker } from '../index.js'
import { freshDatabase } from '../testing/index.js'

const limited = pipeline('limited', { maxActiveRuns: 2 })
  .task('a', async () => {
    await new Promise((resolve) => setTimeout(resolve, 150))
    return 1
  })
  .task('b', { needs: ['a'] }, async ({ a }) => a + 1)

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('maxActiveRuns', () => {
  let drop: () => Promise<void>
  let database: Database

  beforeAll(async () => {
    const db = await freshDatabase()
    drop = db.drop
    database = await openDatabase({ databaseUrl: db.url, poolSize: 12 })
  })
  afterAll(async () => {
    await database.close()
    await drop()
  })

  it('runs beyond the limit wait queued, whatever the number of workers and of concurrent triggers', async () => {
    // Ten runs created at once: each creation admits within the limit under the pipeline's lock.
    await Promise.all(Array.from({ length: 10 }, () => triggerPipeline(database, limited, {})))
    const states = await database.rows<{ state: string; n: number }>(
      sql`select state, count(*)::int as n from podline.runs group by state order by state`,
    )
    expect(states).toEqual([
      { state: 'queued', n: 8 },
      { state: 'running', n: 2 },
    ])
    // The waiting runs' first tasks cannot be claimed: they are pending until the run is started.
    const [claimable] = await database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.task_runs where state = 'queued'`,
    )
    expect(claimable?.n).toBe(2)

    const workers = [1, 2, 3].map(
      () => new Worker({ database, pipelines: [limited], concurrency: 8, pollMs: 200, leaseThread: false }),
    )
    await Promise.all(workers.map((w) => w.start()))
    try {
      await waitFor('every run to succeed', async () => {
        const [row] = await database.rows<{ n: number }>(
          sql`select count(*)::int as n from podline.runs where state = 'success'`,
        )
        return row?.n === 10
      })
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
    // From the runs' own times: never more than two running at once, and two did run together.
    const spans = await database.rows<{ started: number; finished: number }>(
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
