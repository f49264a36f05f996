import type { Span } from '@opentelemetry/api'
import type { ClaimedTaskRun } from '../queue/claim-task-runs.js'
import { endSpan, runContext, startSpan } from '../tracing/tracing.js'

/** How an attempt ended, as the worker reports it (`lost`: cancelled, lease lost, shutting down). */
export interface AttemptEnd {
  state: string
  error?: string
}

/**
 * The span of one attempt, a child of its run's stored trace context, so an attempt on any worker
 * joins the run's trace. Its context is active while the attempt runs: pod phases and log lines
 * see it.
 */
export function startAttemptSpan(c: ClaimedTaskRun, workerId: string) {
  const run = runContext(c.traceContext)
  // The wait before the claim, ended as it begins: a sibling of the attempt, which starts now.
  const now = Date.now()
  const wait = startSpan(
    `queued ${c.task}`,
    { 'podline.run_id': c.runId, 'podline.task': c.task, 'podline.attempt': c.attempt },
    run,
    now - c.waitedMs,
  )
  wait.span.end(now)
  return startSpan(
    `task ${c.task}`,
    {
      'podline.pipeline': c.pipeline,
      'podline.version': c.version,
      'podline.run_id': c.runId,
      'podline.task': c.task,
      'podline.task_kind': c.kind,
      'podline.attempt': c.attempt,
      'podline.worker': workerId,
      'podline.resumed': c.resumed,
    },
    run,
  )
}

export function endAttemptSpan(span: Span, end: AttemptEnd | undefined, thrown?: unknown): void {
  span.setAttribute('podline.outcome', end?.state ?? 'failed')
  const failed = end === undefined || end.state === 'failed' || end.state === 'up_for_retry'
  endSpan(span, failed ? (thrown ?? end?.error ?? 'failed') : undefined)
}
