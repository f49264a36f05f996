import { emitAssetEvent, openDatabase, triggerPipeline, Worker } from '@podline/runner'
import { asset, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { z } from 'zod'
import { podlineDatabase } from './databases.js'
import { median, quantile } from './stats.js'
import { fixed } from './table.js'

export interface AssetLatency {
  workers: number
  /** From emitAssetEvent's call to the consumer run's first task running (its `running` event), ms. */
  eventToFirstTask: number[]
  /** The peer, on the same workers: from triggerPipeline's call to the first task running, ms. */
  triggerToFirstTask: number[]
}

const ticks = asset('bench.ticks', z.object({ n: z.number() }))
const consumer = pipeline('bench-on-ticks', { on: ticks }).task(
  'first',
  (_in, ctx) => ctx.assets['bench.ticks'].value.n,
)
const plain = pipeline('bench-plain').task('first', () => true)

/**
 * Asset event latency: `workers` workers (concurrency 8 each) serving a pipeline `on` an asset;
 * `samples` events emitted one at a time, each timed from the call to its run's first task
 * starting; beside each, a plain trigger timed from the call to its first task starting. Both by
 * the database's event times against the call's time on this process's clock.
 */
export async function measureAssetLatency(workers = 2, samples = 200): Promise<AssetLatency> {
  const db = await podlineDatabase()
  const database = await openDatabase({ databaseUrl: db.url, poolSize: 8 })
  const running = Array.from(
    { length: workers },
    () => new Worker({ database, pipelines: [consumer, plain], concurrency: 8, leaseThread: false }),
  )
  try {
    for (const w of running) await w.start()
    const firstStart = async (where: ReturnType<typeof sql>) => {
      for (;;) {
        const [row] = await database.rows<{ at: number }>(sql`
          select (extract(epoch from e.created_at) * 1000)::float8 as at
          from podline.runs r join podline.events e on e.run_id = r.id
          where ${where} and e.task = 'first' and e.to_state = 'running' limit 1`)
        if (row) return row.at
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    }
    // The consumer takes events from its first pass on: wait for its cursor.
    while (
      (await database.rows(sql`select 1 from podline.asset_cursors where pipeline = 'bench-on-ticks'`))
        .length === 0
    )
      await new Promise((resolve) => setTimeout(resolve, 10))
    const eventToFirstTask: number[] = []
    const triggerToFirstTask: number[] = []
    for (let i = 0; i < samples; i++) {
      // Alternated, so a busy moment of the machine weighs on both alike.
      const sent = Date.now()
      const eventId = await emitAssetEvent(database, 'bench.ticks', { n: i })
      eventToFirstTask.push(
        (await firstStart(sql`r.pipeline = 'bench-on-ticks' and r.asset_event_id = ${eventId}::bigint`)) -
          sent,
      )
      const triggered = Date.now()
      const runId = await triggerPipeline(database, plain, {})
      triggerToFirstTask.push((await firstStart(sql`r.id = ${runId}::uuid`)) - triggered)
    }
    return { workers, eventToFirstTask, triggerToFirstTask }
  } finally {
    for (const w of running) await w.stop()
    await database.close()
    await db.drop()
  }
}

export function assetLatencyRow(r: AssetLatency): string[] {
  const p50 = median(r.eventToFirstTask)
  const peer = median(r.triggerToFirstTask)
  return [
    `asset event → consumer run's first task started, ${r.workers} workers, p50 / p95 (ms)`,
    `${fixed(p50, 1)} / ${fixed(quantile(r.eventToFirstTask, 0.95), 1)}`,
    '',
    `${fixed(p50 / peer, 2)}× a trigger → its first task started (${fixed(peer, 1)} / ${fixed(quantile(r.triggerToFirstTask, 0.95), 1)} ms)`,
  ]
}
