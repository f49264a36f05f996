import type { Engine, TimedAttemptEvent } from '@podline/host'
import {
  type AttemptEvent,
  listSchedules,
  type PipelineQueue,
  podsByPhase,
  queueByPipeline,
} from '@podline/runner'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** The worker's Prometheus metrics; `attach` points the sampled gauges at the engine once it runs. */
export interface WorkerMetrics {
  readonly registry: Registry
  onAttempt(event: AttemptEvent | TimedAttemptEvent): void
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
  // Both queue gauges come from one query per scrape, shared by whichever collects first.
  let queue: Promise<PipelineQueue[] | undefined> | undefined
  const queueRows = () => {
    queue ??= readQueue(engine).finally(() => {
      setImmediate(() => {
        queue = undefined
      })
    })
    return queue
  }
  /** A gauge by pipeline, sampled on scrape from the shared database: the same on every worker. */
  const perPipeline = (
    name: string,
    help: string,
    sample: () => Promise<Array<[pipeline: string, value: number]> | undefined>,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['pipeline'] as const,
      registers: [registry],
      async collect() {
        const values = await sample()
        if (!values) return
        this.reset()
        for (const [pipeline, value] of values) this.set({ pipeline }, value)
      },
    })
  perPipeline(
    'podline_queue_depth',
    'Task runs that could be claimed now (queued, or due for a retry) in the shared database, by pipeline; sampled on scrape, the same on every worker.',
    async () => (await queueRows())?.map((r) => [r.pipeline, r.depth]),
  )
  perPipeline(
    'podline_queue_oldest_age_seconds',
    'How long the task run that has waited longest to be claimed has waited, by pipeline (0 when none waits).',
    async () => (await queueRows())?.map((r) => [r.pipeline, r.oldestSeconds]),
  )
  const taskDuration = new Histogram({
    name: 'podline_task_duration_seconds',
    help: 'How long the attempts this worker finished ran, by pipeline, task and end state.',
    labelNames: ['pipeline', 'task', 'state'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  })
  new Gauge({
    name: 'podline_pods',
    help: 'Pods of pod tasks this worker supervises now, by phase (create, scheduled: until it started, running: until base exited, sidecar_read: reading its result).',
    labelNames: ['phase'] as const,
    registers: [registry],
    collect() {
      for (const [phase, n] of Object.entries(podsByPhase())) this.set({ phase }, n)
    },
  })
  perPipeline(
    'podline_schedule_lag_seconds',
    'How long the oldest due tick of each unpaused schedule has waited for its run (0 when none waits); sampled on scrape, the same on every worker.',
    async () => {
      if (engine?.state !== 'running') return undefined
      const schedules = await listSchedules(engine.database).catch(() => undefined)
      return schedules?.map((s) => [
        s.pipeline,
        s.dueSince ? Math.max(0, s.now.getTime() - s.dueSince.getTime()) / 1000 : 0,
      ])
    },
  )
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
      if (event.type === 'started') return claimed.inc()
      finished.inc({ state: event.state })
      if ('durationMs' in event && event.durationMs !== undefined)
        taskDuration.observe(
          { pipeline: event.pipeline, task: event.task, state: event.state },
          event.durationMs / 1000,
        )
    },
    attach(e) {
      engine = e
    },
  }
}

async function readQueue(engine: Engine | undefined): Promise<PipelineQueue[] | undefined> {
  if (engine?.state !== 'running') return undefined
  return queueByPipeline(engine.database).catch(() => undefined)
}
