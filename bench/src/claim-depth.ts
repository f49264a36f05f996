import { type ClaimOptions, claimTaskRuns, type Database, finishAttempt, openDatabase } from '@podline/runner'
import postgres from 'postgres'
import { bulkTrigger } from './bulk-trigger.js'
import { podlineDatabase } from './databases.js'
import { wideOf } from './pipelines.js'
import type { BenchDatabase } from './server.js'
import { quantile } from './stats.js'

export interface ClaimDepthResult {
  /** Task runs queued at every timed claim (at least). */
  queued: number
  claims: number
  limit: number
  /** Writing the queue (runs, task runs, events, in bulk), then ANALYZE. */
  fillMs: number
  p50Ms: number
  p99Ms: number
}

/** Task runs per run of the queue: a million task runs are 10,000 runs, which fill in seconds. */
const RUN_WIDTH = 100
const WARMUP_CLAIMS = 20
/** The claims of each depth are timed in this many blocks, alternating, so both see the same machine. */
const ROUNDS = 10

interface Queue {
  queued: number
  db: BenchDatabase
  database: Database
  fillMs: number
  ms: number[]
}

/**
 * The claim's cost against the depth of the queue. For each depth a fresh database gets that many
 * task runs queued in bulk (runs of a pipeline of RUN_WIDTH independent tasks), plus the ones the
 * claims will take, so that every claim sees at least `queued`. Then `claims` claims of `limit` task
 * runs each are timed on each database, round trip included, in alternating blocks; each claim is
 * followed by the completion of what it took, as a worker does, so the head of the queue moves on
 * and leaves dead index entries behind it. One connection claims, `limit` more complete.
 */
export async function measureClaimDepth(
  depths: readonly number[],
  { claims = 1000, limit = 4 } = {},
): Promise<ClaimDepthResult[]> {
  const p = wideOf(RUN_WIDTH)
  const options: ClaimOptions = {
    workerId: 'bench-claims',
    versions: [p.plan().version],
    kind: 'task',
    limit,
    leaseMs: 60_000,
  }
  const queues: Queue[] = []
  const claimOnce = async (q: Queue, timed: boolean) => {
    const started = performance.now()
    const batch = await claimTaskRuns(q.database, options)
    if (timed) q.ms.push(performance.now() - started)
    if (batch.length !== limit) throw new Error(`a claim took ${batch.length} task runs, expected ${limit}`)
    await Promise.all(
      batch.map((c) =>
        finishAttempt(
          q.database,
          {
            id: c.id,
            runId: c.runId,
            task: c.task,
            attempt: c.attempt,
            claim: c.claim,
            workerId: options.workerId,
          },
          { state: 'success', output: 1, size: 1 },
        ),
      ),
    )
  }
  try {
    for (const queued of depths) {
      const db = await podlineDatabase()
      const database = await openDatabase({ databaseUrl: db.url, poolSize: limit + 1 }).catch(
        async (error) => {
          await db.drop()
          throw error
        },
      )
      const q: Queue = { queued, db, database, fillMs: 0, ms: [] }
      queues.push(q)
      const filling = performance.now()
      const runs = Math.ceil((queued + (WARMUP_CLAIMS + claims) * limit) / RUN_WIDTH)
      await bulkTrigger(db.url, p, runs)
      // Autovacuum would analyse tables this size within a minute of the insert; doing it here keeps
      // the plan of the timed claims from depending on when it runs.
      const sql = postgres(db.url, { max: 1, onnotice: () => {} })
      try {
        await sql`analyze podline.task_runs`
        await sql`analyze podline.runs`
      } finally {
        await sql.end()
      }
      q.fillMs = performance.now() - filling
      for (let i = 0; i < WARMUP_CLAIMS; i++) await claimOnce(q, false)
    }
    for (let round = 0; round < ROUNDS; round++)
      for (const q of queues)
        for (
          let i = Math.floor((claims * round) / ROUNDS);
          i < Math.floor((claims * (round + 1)) / ROUNDS);
          i++
        )
          await claimOnce(q, true)
    return queues.map((q) => ({
      queued: q.queued,
      claims: q.ms.length,
      limit,
      fillMs: q.fillMs,
      p50Ms: quantile(q.ms, 0.5),
      p99Ms: quantile(q.ms, 0.99),
    }))
  } finally {
    for (const q of queues) {
      await q.database.close()
      await q.db.drop()
    }
  }
}
