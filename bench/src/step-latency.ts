import { openDatabase, triggerPipeline, Worker } from '@podline/runner'
import type { AnyPipeline } from '@podline/sdk'
import { makeWorkerUtils, run } from 'graphile-worker'
import postgres from 'postgres'
import { graphileDatabase, podlineDatabase, quietLogger } from './databases.js'
import { graphilePool } from './graphile-pool.js'
import { benchPipelines, CHAIN_LENGTH, chainOf, FAN_WIDTH, fanOf } from './pipelines.js'
import { quantile } from './stats.js'

export interface LatencyResult {
  shape: string
  steps: number
  p50Ms: number
  p99Ms: number
}

/*
 * DAG step latency: from an upstream task's completion (the start of its completion transaction,
 * task_runs.finished_at) to its downstream task starting (the claim, task_runs.started_at), both
 * PostgreSQL clock. A task with several upstreams counts from the last of them to finish. One
 * in-process worker, concurrency 8, on its own connections.
 */
async function podlineSteps(p: AnyPipeline): Promise<number[]> {
  const db = await podlineDatabase()
  const database = await openDatabase({ databaseUrl: db.url })
  const worker = new Worker({ database, pipelines: benchPipelines, concurrency: 8 })
  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  try {
    await worker.start()
    const runId = await triggerPipeline(database, p, {})
    for (;;) {
      const [r] = await sql<{ state: string }[]>`select state from podline.runs where id = ${runId}::uuid`
      if (r && r.state !== 'queued' && r.state !== 'running') break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const rows = await sql<{ ms: number }[]>`
      select extract(epoch from d.started_at - max(u.finished_at)) * 1000 as ms
      from podline.task_runs d join podline.task_runs u on u.run_id = d.run_id and u.task = any(d.needs)
      where d.run_id = ${runId}::uuid group by d.id, d.started_at`
    return rows.map((r) => Number(r.ms))
  } finally {
    await worker.stop()
    await sql.end()
    await database.close()
    await db.drop()
  }
}

/**
 * graphile-worker's add→start latency, in the same shape as a chain: each job adds the next one and
 * the time from that add to the next job's start is one step.
 */
async function graphileSteps(steps: number): Promise<number[]> {
  const db = await graphileDatabase()
  const latencies: number[] = []
  let finish!: () => void
  const finished = new Promise<void>((r) => {
    finish = r
  })
  // One pool of ours for both, ended (every connection closed) before the database is dropped.
  const peer = graphilePool(db.url, 10)
  const utils = await makeWorkerUtils({ pgPool: peer.pool, logger: quietLogger() })
  const runner = await run({
    pgPool: peer.pool,
    concurrency: 8,
    noHandleSignals: true,
    pollInterval: 2000,
    logger: quietLogger(),
    taskList: {
      step: async (payload, helpers) => {
        const { i, addedAt } = payload as { i: number; addedAt: number }
        if (i > 0) latencies.push(performance.timeOrigin + performance.now() - addedAt)
        if (i + 1 >= steps) return finish()
        await helpers.addJob('step', { i: i + 1, addedAt: performance.timeOrigin + performance.now() })
      },
    },
  })
  try {
    await utils.addJob('step', { i: 0, addedAt: 0 })
    await finished
    return latencies
  } finally {
    await runner.stop()
    await runner.promise.catch(() => {})
    await utils.release()
    await peer.end()
    await db.drop()
  }
}

const summarise = (shape: string, ms: number[]): LatencyResult => ({
  shape,
  steps: ms.length,
  p50Ms: quantile(ms, 0.5),
  p99Ms: quantile(ms, 0.99),
})

export async function measureStepLatency(): Promise<{ podline: LatencyResult[]; graphile: LatencyResult }> {
  const chain = summarise(`chain of ${CHAIN_LENGTH}`, await podlineSteps(chainOf(CHAIN_LENGTH)))
  const fan = summarise(`fan 1 → ${FAN_WIDTH} → 1`, await podlineSteps(fanOf(FAN_WIDTH)))
  const graphile = summarise(`add→start, chain of ${CHAIN_LENGTH}`, await graphileSteps(CHAIN_LENGTH))
  return { podline: [chain, fan], graphile }
}
