import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { type Database, pruneFinishedRuns, triggerPipeline, Worker } from '../index.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

/** Rows of each table that belong to these runs. */
async function rowsOf(database: Database, runIds: readonly string[]) {
  const ids = JSON.stringify(runIds)
  const count = async (table: string) => {
    const [row] = await database.rows<{ n: number }>(
      sql`select count(*)::int as n from ${sql.raw(`podline.${table}`)}
          where ${sql.raw(table === 'runs' ? 'id' : 'run_id')}
                = any(array(select jsonb_array_elements_text(${ids}::jsonb)::uuid))`,
    )
    return row?.n ?? 0
  }
  return {
    runs: await count('runs'),
    taskRuns: await count('task_runs'),
    xcoms: await count('xcoms'),
    events: await count('events'),
    logs: await count('task_logs'),
  }
}

describe('retention: pruning finished runs', () => {
  const db = useFreshDatabase({ poolSize: 8 })

  const logged = pipeline('prune-logged')
    .task('a', async (_in, ctx) => {
      ctx.log.info('from a')
      return 1
    })
    .task('b', { needs: ['a'] }, async ({ a }) => a + 1)

  const until = async (runIds: string[], states: string[]) =>
    waitUntil(
      `runs to reach ${states.join('/')}`,
      async () => {
        const rows = await db.database.rows<{ n: number }>(
          sql`select count(*)::int as n from podline.runs
            where id = any(array(select jsonb_array_elements_text(${JSON.stringify(runIds)}::jsonb)::uuid))
              and state = any(array(select jsonb_array_elements_text(${JSON.stringify(states)}::jsonb)))`,
        )
        return rows[0]?.n === runIds.length
      },
      20_000,
    )

  it('prune deletes exactly the runs finished before the cutoff, with their task runs, XComs, events and logs', async () => {
    const worker = new Worker({ database: db.database, pipelines: [logged], concurrency: 4, pollMs: 50 })
    await worker.start()
    const finished: string[] = []
    try {
      for (let i = 0; i < 12; i++) finished.push(await triggerPipeline(db.database, logged, {}))
      await until(finished, ['success'])
      // Wait for the log batches to reach the table, so the cascade has logs to take.
      await waitUntil('the task logs', async () => (await rowsOf(db.database, finished)).logs >= 12, 20_000)
    } finally {
      await worker.stop()
    }
    // Nine finished 40 days ago, three an hour ago; and old runs that never finished: queued with
    // no worker, and a cancelled run whose task run is still open (its worker is winding it down).
    const old = finished.slice(0, 9)
    const recent = finished.slice(9)
    await db.database.rows(sql`update podline.runs set finished_at = now() - interval '40 days'
      where id = any(array(select jsonb_array_elements_text(${JSON.stringify(old)}::jsonb)::uuid))`)
    await db.database.rows(sql`update podline.runs set finished_at = now() - interval '1 hour'
      where id = any(array(select jsonb_array_elements_text(${JSON.stringify(recent)}::jsonb)::uuid))`)
    const queued = await triggerPipeline(db.database, logged, {})
    const winding = await triggerPipeline(db.database, logged, {})
    await db.database.rows(
      sql`update podline.runs set created_at = now() - interval '50 days' where id in (${queued}::uuid, ${winding}::uuid)`,
    )
    await db.database.rows(sql`update podline.runs set state = 'cancelled', finished_at = now() - interval '45 days'
      where id = ${winding}::uuid`)
    const before = await rowsOf(db.database, old)
    expect(before).toMatchObject({ runs: 9, taskRuns: 18, xcoms: 18 })
    expect(before.events).toBeGreaterThan(0)
    expect(before.logs).toBeGreaterThan(0)
    const kept = [...recent, queued, winding]
    const keptBefore = await rowsOf(db.database, kept)

    // Batches of 4 take the nine; the oldest finished run, still winding down, neither goes nor
    // ends the pruning early (a short batch once stopped it with runs left to prune).
    expect(await pruneFinishedRuns(db.database, { olderThanMs: 30 * 86_400_000, batchRuns: 4 })).toBe(9)

    expect(await rowsOf(db.database, old)).toEqual({ runs: 0, taskRuns: 0, xcoms: 0, events: 0, logs: 0 })
    expect(await rowsOf(db.database, kept)).toEqual(keptBefore)
    expect(await pruneFinishedRuns(db.database, { olderThanMs: 30 * 86_400_000 })).toBe(0)
    await db.database.rows(sql`delete from podline.runs where id in (${queued}::uuid, ${winding}::uuid)`)
  })

  it('pruning during a run loses nothing of live runs', async () => {
    // The last task waits on a gate: while it waits its run is live, with the XComs, events and
    // task runs of the tasks before it stored, and pruning with a zero cutoff hammers the store.
    let open!: () => void
    const gate = new Promise<void>((r) => {
      open = r
    })
    const chain = pipeline('prune-live')
      .task('a', async () => 1)
      .task('b', { needs: ['a'] }, async ({ a }) => a + 1)
      .task('c', { needs: ['b'] }, async ({ b }) => b + 1)
      .task('last', { needs: ['c'] }, async ({ c }) => {
        await gate
        return c + 1
      })
    const single = pipeline('prune-single').task('only', async () => 1)
    const ran: string[] = []
    // The worker prunes at every reconcile (each 20 ms) with a zero cutoff: every run, the moment it ends.
    const worker = new Worker({
      database: db.database,
      pipelines: [chain, single],
      concurrency: 4,
      pollMs: 50,
      reconcileMs: 20,
      pruneOlderThanMs: 0,
      onAttempt: (e) => {
        if (e.type === 'finished' && e.state === 'success') ran.push(`${e.runId}/${e.task}`)
      },
    })
    await worker.start()
    let hammering = true
    let sweeps = 0
    const hammer = (async () => {
      while (hammering) {
        await pruneFinishedRuns(db.database, { olderThanMs: 0, batchRuns: 3 })
        sweeps++
      }
    })()
    try {
      const live = await triggerPipeline(db.database, chain, {})
      // Short runs start, end and are pruned around the live one.
      const shorts: string[] = []
      for (let i = 0; i < 30; i++) shorts.push(await triggerPipeline(db.database, single, {}))
      await waitUntil(
        'the short runs to end and be pruned',
        async () => (await rowsOf(db.database, shorts)).runs === 0,
        20_000,
      )
      await waitUntil(
        'the chain to reach its last task',
        async () => {
          const [row] = await db.database.rows<{ state: string }>(
            sql`select state from podline.task_runs where run_id = ${live}::uuid and task = 'last'`,
          )
          return row?.state === 'running'
        },
        20_000,
      )
      const during = await rowsOf(db.database, [live])
      const atLeast = sweeps + 20
      await waitUntil('more sweeps of pruning', async () => sweeps >= atLeast, 20_000)
      // Everything of the live run is still there: its row, four task runs, the XComs of a, b, c.
      expect(await rowsOf(db.database, [live])).toEqual(during)
      expect(during).toMatchObject({ runs: 1, taskRuns: 4, xcoms: 3 })
      // Each short run's task ran exactly once before its run was pruned.
      expect(shorts.every((id) => ran.filter((r) => r === `${id}/only`).length === 1)).toBe(true)
      open()
      // The last task read c's XCom (3) and succeeded; then its run ended and was pruned.
      await waitUntil(
        'the chain to end and be pruned',
        async () => (await rowsOf(db.database, [live])).runs === 0,
        20_000,
      )
      expect(ran).toContain(`${live}/last`)
    } finally {
      open()
      hammering = false
      await hammer
      await worker.stop()
    }
  })
})
