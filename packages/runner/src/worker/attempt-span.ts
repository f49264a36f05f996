import { context, type Span } from '@opentelemetry/api'
import type { ClaimedTaskRun } from '../queue/claim-task-runs.js'
import type { AttemptOutcome } from '../queue/finish-attempt.js'
import { endSpan, runContext, startSpan } from '../tracing/tracing.js'

/** How an attempt ended, as the worker reports it (`lost`: cancelled, lease lost, shutting down). */
export interface AttemptEnd {
  state: AttemptOutcome['state'] | 'lost'
  error?: string
}

/**
 * Runs an attempt in its span, a child of its run's stored trace context, so an attempt on any
 * worker joins the run's trace. The span is active while the attempt runs (pod phases and log
 * lines see it) and ends with the attempt's outcome.
 */
export async function traceAttempt(
  c: ClaimedTaskRun,
  workerId: string,
  attempt: () => Promise<AttemptEnd>,
): Promise<void> {
  const { span, context: active } = startAttemptSpan(c, workerId)
  let end: AttemptEnd
  try {
    end = await context.with(active, attempt)
  } catch (error) {
    endAttemptSpan(span, undefined, error)
    throw error
  }
  endAttemptSpan(span, end)
}

function startAttemptSpan(c: ClaimedTaskRun, workerId: string) {
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
      // An item of a mapped task: its index in the list its task maps over.
      ...(c.mapIndex === null ? {} : { 'podline.map_index': c.mapIndex }),
    },
    run,
  )
}

function endAttemptSpan(span: Span, end: AttemptEnd | undefined, thrown?: unknown): void {
  span.setAttribute('podline.outcome', end?.state ?? 'failed')
  const failed = end === undefined || end.state === 'failed' || end.state === 'up_for_retry'
  endSpan(span, failed ? (thrown ?? end?.error ?? 'failed') : undefined)
}
