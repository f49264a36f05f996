import { cancelRun, openDatabase, triggerPipeline, Worker } from '@podline/runner'
import postgres from 'postgres'
import { bulkTrigger } from './bulk-trigger.js'
import { podlineDatabase } from './databases.js'
import { fanOf } from './pipelines.js'

export interface PlainFanoutResult {
  width: number
  /** Triggering the run: the run and its width + 2 task runs written. */
  triggerMs: number
  /** Set when triggerPipeline refused the run: the bench then wrote the same rows itself (bulkTrigger). */
  triggerError?: string
  /** Middle tasks that ended before the join started (all of them, unless the run was stopped). */
  done: number
  /** From the root's completion to the join's start, or to the stop (both PostgreSQL clock). */
  ms: number
  msPerTask: number
  /**
   * Set when the run was stopped at the budget: the time the whole width would take at the rate
   * reached. With no middle task done by then, a lower bound: as if one had just ended.
   */
  projectedMs?: number
  /** projectedMs is a lower bound. */
  atLeast?: boolean
}

/** A stopped run samples at least this many middle tasks (or until MAX_SAMPLE_MS) before projecting. */
const MIN_SAMPLED_TASKS = 5
const MAX_SAMPLE_MS = 60_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * A fan 1 → width → 1 of plain tasks (not mapped): the root, `width` tasks that need it, and a join
 * that needs all of them, run by one in-process worker with concurrency 8 on a fresh database. The
 * cost per middle task is the time from the root's completion to the join's start over `width`.
 * A run whose projection (middle tasks done so far at the rate so far) exceeds `budgetMs` is
 * stopped once `sampleMs` have passed and MIN_SAMPLED_TASKS are done (or MAX_SAMPLE_MS have), and
 * reported as a projection: the bench must end, and promotion cost grows with the width.
 */
export async function measurePlainFanout(
  width: number,
  { budgetMs = 180_000, sampleMs = 20_000 } = {},
): Promise<PlainFanoutResult> {
  const db = await podlineDatabase()
  const p = fanOf(width)
  const database = await openDatabase({ databaseUrl: db.url }).catch(async (error) => {
    await db.drop()
    throw error
  })
  const worker = new Worker({ database, pipelines: [p], concurrency: 8 })
  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  try {
    const triggered = performance.now()
    let triggerError: string | undefined
    try {
      await triggerPipeline(database, p, {})
    } catch (error) {
      // Nothing is written when it fails (one transaction); the run's rows are what it would write.
      triggerError = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      await bulkTrigger(db.url, p, 1)
    }
    const triggerMs = performance.now() - triggered
    const [run] = await sql<{ id: string }[]>`select id::text from podline.runs`
    if (!run) throw new Error('the fan run was not created')
    const runId = run.id
    // Autovacuum would analyse the new task runs within a minute; without statistics the planner
    // takes the run's task runs for a handful and checks each against the join's needs (width ×
    // width comparisons per promotion: 1.7 s at 10,000 instead of 45 ms). Analysed, as the claim
    // measure is, the figure does not depend on when autovacuum comes by.
    await sql`analyze podline.task_runs`
    await worker.start()
    for (;;) {
      const [r] = await sql<{ state: string; done: number; since: number | null; join: number | null }[]>`
        select r.state,
               (select count(*)::int from podline.task_runs
                where run_id = r.id and task not in ('root', 'join') and state = 'success') as done,
               (select extract(epoch from clock_timestamp() - finished_at) * 1000 from podline.task_runs
                where run_id = r.id and task = 'root')::float8 as since,
               (select extract(epoch from t.started_at - root.finished_at) * 1000
                from podline.task_runs t, podline.task_runs root
                where t.run_id = r.id and t.task = 'join' and root.run_id = r.id and root.task = 'root')::float8
                 as join
        from podline.runs r where r.id = ${runId}::uuid`
      if (!r) throw new Error(`run ${runId} is gone`)
      const measured = { width, triggerMs, ...(triggerError ? { triggerError } : {}) }
      if (r.join !== null) return { ...measured, done: width, ms: r.join, msPerTask: r.join / width }
      if (r.state !== 'queued' && r.state !== 'running') throw new Error(`fan run ended ${r.state}`)
      const sampled = r.done >= MIN_SAMPLED_TASKS || (r.since ?? 0) >= MAX_SAMPLE_MS
      if (r.since !== null && r.since >= sampleMs && sampled) {
        const atLeast = r.done === 0
        const msPerTask = r.since / Math.max(1, r.done)
        const projectedMs = msPerTask * width
        if (projectedMs > budgetMs || r.since >= budgetMs) {
          await cancelRun(database, runId)
          return {
            ...measured,
            done: r.done,
            ms: r.since,
            msPerTask,
            projectedMs,
            ...(atLeast ? { atLeast } : {}),
          }
        }
      }
      await sleep(100)
    }
  } finally {
    // In-flight completions of a stopped wide fan wait on the run's lock: bounded, then handed back.
    await worker.stop({ drainMs: 5000 })
    await sql.end()
    await database.close()
    await db.drop()
  }
}
