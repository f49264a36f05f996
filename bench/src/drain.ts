import { openDatabase, setPool } from '@podline/runner'
import postgres from 'postgres'
import { bulkTrigger } from './bulk-trigger.js'
import { graphileDatabase, podlineDatabase } from './databases.js'
import type { System } from './graphile-peer.js'
import { BENCH_POOL, pooledSingle, single } from './pipelines.js'
import { spanMs, spawnWorkers } from './spawn-workers.js'

export type { System }

export interface DrainResult {
  system: System
  workers: number
  tasks: number
  /** First task start to last task end. */
  ms: number
  tasksPerSecond: number
  /** The largest worker process's peak resident set. */
  peakRssMb: number
  /**
   * Transactions committed in the database while draining, per task: the workers' claims,
   * completions, heartbeats and reconciles (the bench's own polling is subtracted).
   */
  commitsPerTask: number
}

async function createBenchPool(url: string, slots: number): Promise<void> {
  const database = await openDatabase({ databaseUrl: url, poolSize: 1 })
  try {
    await setPool(database, { name: BENCH_POOL, slots })
  } finally {
    await database.close()
  }
}

/** The database's committed transactions so far, this connection's own flushed first. */
async function commits(sql: postgres.Sql): Promise<number> {
  await sql`select pg_stat_force_next_flush()`
  const [row] = await sql<{ n: string }[]>`
    select xact_commit::text as n from pg_stat_database where datname = current_database()`
  return Number(row?.n)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/*
 * The throughput and scaling measurement: `workers` processes (concurrency 8 each) start on a fresh,
 * empty database; then `tasks` no-op tasks are enqueued in bulk (Podline: runs of a one-task pipeline,
 * with their task runs and events; graphile-worker: add_job) and drained. Timing runs from the first
 * task start to the last task end, so process start-up is not counted for either system.
 */
export async function drain(
  system: System,
  workers: number,
  tasks: number,
  options: { poolSlots?: number } = {},
): Promise<DrainResult> {
  const db = system === 'podline' ? await podlineDatabase() : await graphileDatabase()
  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  const pooled = options.poolSlots !== undefined
  try {
    // With poolSlots, the same tasks take one slot each of a pool that size (Podline only).
    if (pooled) await createBenchPool(db.url, options.poolSlots ?? 0)
    const group = await spawnWorkers(workers, {
      KIND: system,
      DATABASE_URL: db.url,
      CONCURRENCY: '8',
      ...(pooled ? { BENCH_POOL: '1' } : {}),
    })
    let stats: Awaited<ReturnType<typeof group.stop>>
    let polls = 0
    let before = 0
    try {
      // Counted from before the work is added (the workers start on it at once); adding it costs a
      // handful of commits, a thousandth of one per task.
      before = await commits(sql)
      if (system === 'podline') await bulkTrigger(db.url, pooled ? pooledSingle : single, tasks)
      else await sql`select graphile_worker.add_job('noop') from generate_series(1, ${tasks})`
      for (;;) {
        polls++
        const [left] =
          system === 'podline'
            ? await sql<
                { n: number }[]
              >`select count(*)::int as n from podline.task_runs where state <> 'success'`
            : await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`
        if (left?.n === 0) break
        await sleep(100)
      }
    } finally {
      // A process's statistics reach pg_stat_database at the latest when it exits.
      stats = await group.stop()
    }
    // The reads of the counter commit too: the one before, and the flush request here; so do the polls.
    const committed = (await commits(sql)) - before - polls - 2
    const ran = stats.reduce((n, s) => n + s.count, 0)
    if (ran !== tasks) throw new Error(`${system}: ${ran} tasks ran, expected ${tasks}`)
    const ms = spanMs(stats)
    return {
      system,
      workers,
      tasks,
      ms,
      tasksPerSecond: (tasks / ms) * 1000,
      peakRssMb: Math.max(...stats.map((s) => s.peakRssMb)),
      commitsPerTask: committed / tasks,
    }
  } finally {
    await sql.end()
    await db.drop()
  }
}
