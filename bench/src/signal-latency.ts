import { openDatabase, signalWait, triggerPipeline, Worker } from '@podline/runner'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { z } from 'zod'
import { podlineDatabase } from './databases.js'
import { median, quantile } from './stats.js'
import { fixed } from './table.js'

export interface SignalLatency {
  waiting: number
  /** Task runs the worker held while every run waited: a wait holds none. */
  heldWhileWaiting: number
  /** From signalWait's call to the step after the wait running (its `running` event), ms. */
  signalToDownstream: number[]
  /** The peer, in the same database and worker: from triggerPipeline's call to the first task running, ms. */
  triggerToFirstTask: number[]
}

const approval = pipeline('bench-approval')
  .wait('approval', { signal: z.object({ approved: z.boolean() }) })
  .task('after', { needs: ['approval'] }, ({ approval }) => approval.approved)

const plain = pipeline('bench-plain').task('first', () => true)

/**
 * Signal latency with `waiting` runs parked on a wait: one worker (concurrency 8), the runs created
 * in bulk, then `samples` signals one at a time, each timed from the call to its downstream task's
 * start; beside them, as many plain triggers timed from the call to their first task's start. Both
 * by the database's event times, against the call's time on the same clock (this process's).
 */
export async function measureSignalLatency(waiting = 10_000, samples = 200): Promise<SignalLatency> {
  const db = await podlineDatabase()
  const database = await openDatabase({ databaseUrl: db.url, poolSize: 8 })
  const worker = new Worker({ database, pipelines: [approval, plain], concurrency: 8, leaseThread: false })
  try {
    await worker.start()
    const runIds: string[] = []
    for (let i = 0; i < waiting; i += 500) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(500, waiting - i) }, () => triggerPipeline(database, approval, {})),
      )
      runIds.push(...batch)
    }
    const [held] = await database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.task_runs where lease_owner is not null`,
    )
    const startedAt = async (runId: string, task: string) => {
      for (;;) {
        const [row] = await database.rows<{ at: number }>(sql`
          select (extract(epoch from created_at) * 1000)::float8 as at from podline.events
          where run_id = ${runId}::uuid and task = ${task} and to_state = 'running' limit 1`)
        if (row) return row.at
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    }
    const signalToDownstream: number[] = []
    const triggerToFirstTask: number[] = []
    for (let i = 0; i < samples; i++) {
      // Alternated, so a busy moment of the machine weighs on both alike.
      const runId = runIds[(i * 37) % runIds.length] as string
      const sent = Date.now()
      await signalWait(database, runId, 'approval', { approved: true })
      signalToDownstream.push((await startedAt(runId, 'after')) - sent)
      const triggered = Date.now()
      const plainRun = await triggerPipeline(database, plain, {})
      triggerToFirstTask.push((await startedAt(plainRun, 'first')) - triggered)
    }
    return { waiting, heldWhileWaiting: held?.n ?? -1, signalToDownstream, triggerToFirstTask }
  } finally {
    await worker.stop()
    await database.close()
    await db.drop()
  }
}

export function signalLatencyRow(r: SignalLatency): string[] {
  const p50 = median(r.signalToDownstream)
  const peer = median(r.triggerToFirstTask)
  return [
    `signal → downstream task started, ${r.waiting} runs waiting, p50 / p95 (ms)`,
    `${fixed(p50, 1)} / ${fixed(quantile(r.signalToDownstream, 0.95), 1)}`,
    '',
    `${fixed(p50 / peer, 2)}× a trigger → its first task started (${fixed(peer, 1)} / ${fixed(quantile(r.triggerToFirstTask, 0.95), 1)} ms); task runs held while waiting: ${r.heldWhileWaiting}`,
  ]
}
