import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { triggerPipeline, Worker } from '../index.js'
import { runTasks } from '../read-model/run-status.js'
import { runEnded } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

/** The `sync` task runs running now, and the most ever seen, per account (the workers share this process). */
const running = new Map<string, number>()
const most = new Map<string, number>()

// The account is known only once `lookup` has run: the key reads the task's inputs, typed.
const accounts = pipeline('sync-accounts', { params: z.object({ n: z.number() }) })
  .task('lookup', async (_in, { params }) => ({
    account: ['acme', 'globex', 'initech'][params.n % 3] ?? 'none',
    rows: params.n,
  }))
  .task(
    'sync',
    {
      needs: ['lookup'],
      concurrency: { key: ({ inputs }) => inputs.lookup.account, limit: 1 },
      priority: ({ inputs, params }) => inputs.lookup.rows + params.n,
    },
    async ({ lookup }) => {
      const now = (running.get(lookup.account) ?? 0) + 1
      running.set(lookup.account, now)
      most.set(lookup.account, Math.max(most.get(lookup.account) ?? 0, now))
      await new Promise((resolve) => setTimeout(resolve, 20))
      running.set(lookup.account, (running.get(lookup.account) ?? 1) - 1)
      return lookup.rows
    },
  )

// A key that cannot be computed from what the upstream returned.
const broken = pipeline('sync-broken')
  .task('lookup', async () => ({ account: '' }))
  .task(
    'sync',
    { needs: ['lookup'], concurrency: { key: ({ inputs }) => inputs.lookup.account } },
    async () => 1,
  )
  .task('report', { needs: ['sync'], triggerRule: 'all_done' }, async () => 'reported')

const worker = (db: ReturnType<typeof useFreshDatabase>, pipelines = [accounts, broken]) =>
  new Worker({ database: db.database, pipelines, concurrency: 8, pollMs: 200, leaseThread: false })

/** Runs one worker until the run has ended. */
async function runWithOneWorker(db: ReturnType<typeof useFreshDatabase>, runId: string) {
  const w = worker(db)
  await w.start()
  try {
    await runEnded(db.database, runId, 30_000)
  } finally {
    await w.stop()
  }
}

describe('a concurrency key and a priority computed from the task’s inputs', () => {
  const db = useFreshDatabase({ poolSize: 16 })

  it('holds the task runs of each key to its limit across three workers, keyed by what the upstream returned', async () => {
    const workers = [worker(db), worker(db), worker(db)]
    await Promise.all(workers.map((w) => w.start()))
    try {
      const runIds = await Promise.all(
        Array.from({ length: 30 }, (_, n) => triggerPipeline(db.database, accounts, { n })),
      )
      await Promise.all(runIds.map((id) => runEnded(db.database, id, 60_000)))
      const [done] = await db.database.rows<{ n: number }>(
        sql`select count(*)::int as n from podline.runs where pipeline = 'sync-accounts' and state = 'success'`,
      )
      expect(done?.n).toBe(30)
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
    // Never two of one account at once, and each account reached its one place.
    expect(Object.fromEntries(most)).toEqual({ acme: 1, globex: 1, initech: 1 })
    const stored = await db.database.rows<{ key: string; priorities: number[] }>(sql`
      select t.concurrency_key as key, array_agg(t.priority order by t.priority) as priorities
      from podline.task_runs t join podline.runs r on r.id = t.run_id
      where t.task = 'sync' group by t.concurrency_key order by t.concurrency_key`)
    // The priority read the input (rows) and the params (n): 2n for the run of n.
    expect(stored).toEqual([
      { key: 'acme', priorities: Array.from({ length: 10 }, (_, i) => 6 * i) },
      { key: 'globex', priorities: Array.from({ length: 10 }, (_, i) => 6 * i + 2) },
      { key: 'initech', priorities: Array.from({ length: 10 }, (_, i) => 6 * i + 4) },
    ])
  }, 90_000)

  it('says the task waits for its key from its inputs until its upstream has run', async () => {
    const runId = await triggerPipeline(db.database, accounts, { n: 1 })
    // No worker yet: lookup has not run, so sync is pending, with no key.
    const before = await runTasks(db.database, runId)
    expect(before.find((t) => t.task === 'sync')).toMatchObject({ state: 'pending', concurrencyKey: null })
    await runWithOneWorker(db, runId)
    const after = await runTasks(db.database, runId)
    expect(after.find((t) => t.task === 'sync')).toMatchObject({ state: 'success', concurrencyKey: 'globex' })
  }, 60_000)

  it('fails the task whose key cannot be computed, naming it and why, and trigger rules apply downstream', async () => {
    const runId = await triggerPipeline(db.database, broken, {})
    await runWithOneWorker(db, runId)
    const tasks = await runTasks(db.database, runId)
    const sync = tasks.find((t) => t.task === 'sync')
    expect(sync).toMatchObject({ state: 'failed', attempt: 1 })
    expect(sync?.error).toBe(
      'the concurrency key of task "sync" of pipeline "sync-broken" must be a string of 1 to 200 characters, got a string of 0; return a short identifier such as params.customer; the task cannot start',
    )
    expect(tasks.find((t) => t.task === 'report')).toMatchObject({ state: 'success' })
  }, 60_000)
})
