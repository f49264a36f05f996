/**
 * The runner's OpenTelemetry spans, through @opentelemetry/api alone: with no SDK registered (the
 * default) every call here is a no-op. The worker app and the CLI register the SDK when the `OTEL_*`
 * environment asks for it (apps/worker/src/tracing.ts).
 *
 * One trace per run: its context is made when the run is created and stored on the run (W3C
 * `traceparent` / `tracestate`), so every attempt, on whatever worker claims it, is a child of it.
 */
import { randomBytes } from 'node:crypto'
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api'

/** The W3C trace context of a run, as stored in `runs.trace_context` and given to pods. */
export interface TraceCarrier {
  traceparent?: string
  tracestate?: string
}

const tracer = () => trace.getTracer('@podline/runner')

/**
 * The trace context a new run carries: a `run` span (ended at once: it marks the trigger; the
 * attempts are its children). A process without the SDK still gives the run a fresh context, so
 * the attempts of traced workers share one trace (whose root span is then never exported).
 */
export function newRunTrace(pipeline: string, version: string, runId: string): TraceCarrier {
  const span = tracer().startSpan(`run ${pipeline}`, {
    kind: SpanKind.PRODUCER,
    attributes: { 'podline.pipeline': pipeline, 'podline.version': version, 'podline.run_id': runId },
  })
  span.end()
  const carrier: TraceCarrier = {}
  propagation.inject(trace.setSpan(context.active(), span), carrier)
  if (carrier.traceparent) return carrier
  return { traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` }
}

/** The context an attempt runs in: the run's stored trace, when there is one and an SDK to read it. */
export function runContext(carrier: TraceCarrier | null | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT
}

/** Starts a span as a child of `parent` (default: the active context) and the context it is active in. */
export function startSpan(
  name: string,
  attributes: Attributes,
  parent: Context = context.active(),
  startTime?: number,
): { span: Span; context: Context } {
  const span = tracer().startSpan(
    name,
    startTime === undefined ? { attributes } : { attributes, startTime },
    parent,
  )
  return { span, context: trace.setSpan(parent, span) }
}

/** Ends a span, marking it failed with the error's message when there is one. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    })
  }
  span.end()
}

/**
 * Runs `fn` inside a child span of the active one (a pod's phases: create, scheduled, running,
 * result read); the span fails when `fn` throws.
 */
export async function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  const { span, context: ctx } = startSpan(name, attributes)
  try {
    const value = await context.with(ctx, fn)
    endSpan(span)
    return value
  } catch (error) {
    endSpan(span, error)
    throw error
  }
}

/** The active span's trace context for a child process (`TRACEPARENT`, `TRACESTATE`); {} when untraced. */
export function traceEnv(): Record<string, string> {
  const carrier: TraceCarrier = {}
  propagation.inject(context.active(), carrier)
  return {
    ...(carrier.traceparent ? { TRACEPARENT: carrier.traceparent } : {}),
    ...(carrier.tracestate ? { TRACESTATE: carrier.tracestate } : {}),
  }
}

/** The active span's ids, for a task's log lines; undefined when untraced. */
export function traceIds(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getActiveSpan()?.spanContext()
  if (!span || !trace.isSpanContextValid(span) || !span.traceFlags) return undefined
  return { trace_id: span.traceId, span_id: span.spanId }
}
