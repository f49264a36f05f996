import type { AttemptEvent } from '@podline/runner'
import { sql } from 'drizzle-orm'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Engine } from './engine.js'

/** The worker's Prometheus metrics; `attach` points the sampled gauges at the engine once it runs. */
export interface WorkerMetrics {
  readonly registry: Registry
  onAttempt(event: AttemptEvent): void
  onClaim(event: { count: number; durationMs: number }): void
  attach(engine: Engine): void
}

export function createMetrics(): WorkerMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  let engine: Engine | undefined
  const claimed = new Counter({
    name: 'podline_task_runs_claimed_total',
    help: 'Task runs this worker claimed (attempts started).',
    registers: [registry],
  })
  const finished = new Counter({
    name: 'podline_task_runs_finished_total',
    help: 'Attempts this worker finished, by the state they ended in (lost: cancelled, lease lost or released on shutdown).',
    labelNames: ['state'] as const,
    registers: [registry],
  })
  new Gauge({
    name: 'podline_tasks_running',
    help: 'Attempts running in this worker now.',
    registers: [registry],
    collect() {
      this.set(engine?.worker.running ?? 0)
    },
  })
  new Gauge({
    name: 'podline_queue_depth',
    help: 'Task runs queued in the shared database (all workers), sampled on scrape.',
    registers: [registry],
    async collect() {
      if (engine?.state !== 'running') return
      const [row] = await engine.database
        .rows<{ n: number }>(sql`select count(*)::int as n from podline.task_runs where state = 'queued'`)
        .catch(() => [])
      if (row) this.set(row.n)
    },
  })
  const claimDuration = new Histogram({
    name: 'podline_claim_duration_seconds',
    help: 'Time of one claim statement (SKIP LOCKED batch), whether it found work or not.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  })
  return {
    registry,
    onClaim(event) {
      claimDuration.observe(event.durationMs / 1000)
    },
    onAttempt(event) {
      if (event.type === 'started') claimed.inc()
      else finished.inc({ state: event.state })
    },
    attach(e) {
      engine = e
    },
  }
}
