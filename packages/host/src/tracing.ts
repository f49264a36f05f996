/**
 * OpenTelemetry for a process that runs tasks (the deployable worker, `podline run`, `podline
 * worker`): the SDK and the OTLP/HTTP exporter, configured by the standard `OTEL_*` environment
 * (endpoint, headers, service name, batch settings: the SDK's own readers). Off unless
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_TRACES_EXPORTER` is set,
 * and the SDK is then imported, so a process that does not trace never loads it.
 */
import { ConfigError, traceFlushTimeoutMs } from '@podline/runner/config'

export interface Tracing {
  /**
   * Exports what is buffered and stops, for at most PODLINE_TRACE_FLUSH_TIMEOUT_MS: call before the
   * process exits. Never rejects; spans it could not deliver are reported once through `warn`.
   */
  shutdown(): Promise<void>
}

const EXPORTERS = ['otlp', 'console', 'none'] as const

/** Whether the environment asks for traces (`OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` say no). */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false
  if (env.OTEL_TRACES_EXPORTER) return env.OTEL_TRACES_EXPORTER.trim() !== 'none'
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
}

/**
 * Registers the SDK globally when the environment asks for traces; undefined otherwise.
 * `serviceName` is the default of `service.name`; `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` win.
 * `warn` hears of spans that could not be exported at shutdown: tracing never fails the work.
 */
export async function startTracing(
  serviceName: string,
  warn: (message: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined
  const flushMs = traceFlushTimeoutMs(env)
  const kinds = (env.OTEL_TRACES_EXPORTER || 'otlp')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '' && k !== 'none')
  for (const kind of kinds) {
    if (!(EXPORTERS as readonly string[]).includes(kind))
      throw new ConfigError(
        `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER} is not one of ${EXPORTERS.join(', ')}; fix or unset it.`,
      )
  }
  const [
    api,
    sdk,
    { OTLPTraceExporter },
    resources,
    core,
    { AsyncLocalStorageContextManager },
    { SpanDelivery },
  ] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
    import('@opentelemetry/context-async-hooks'),
    import('./span-delivery.js'),
  ])
  const delivery = new SpanDelivery(warn)
  const provider = new sdk.TracerProvider({
    resource: resources
      .resourceFromAttributes({ 'service.name': serviceName })
      .merge(resources.detectResources({ detectors: [resources.envDetector] })),
    spanProcessors: kinds.map(
      (kind) =>
        new sdk.BatchSpanProcessor({
          exporter:
            kind === 'console'
              ? delivery.track(new sdk.ConsoleSpanExporter(), 'the console')
              : delivery.track(new OTLPTraceExporter(), otlpTracesUrl(env)),
        }),
    ),
  })
  api.trace.setGlobalTracerProvider(provider)
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  api.propagation.setGlobalPropagator(
    new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  )
  return {
    async shutdown() {
      // The exporter's own deadline (OTEL_EXPORTER_OTLP_TIMEOUT, 10 s, retries included) is for a
      // running process; one that is stopping gives its last spans a short while, then leaves them.
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), flushMs)
      })
      const ended = provider.shutdown().then(
        () => 'exported' as const,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      )
      const outcome = await Promise.race([ended, late])
      clearTimeout(timer)
      if (outcome === 'late')
        delivery.dropped(
          delivery.inFlight,
          `the trace exporter did not take them within ${flushMs} ms of the process stopping (PODLINE_TRACE_FLUSH_TIMEOUT_MS)`,
        )
      else if (outcome !== 'exported')
        delivery.dropped(delivery.inFlight, `the last spans could not be exported: ${outcome.message}`)
    },
  }
}

/** Where the OTLP/HTTP exporter sends spans, as the exporter reads the environment: for messages. */
function otlpTracesUrl(env: NodeJS.ProcessEnv): string {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
  if (traces) return traces
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318'
  return `${base.replace(/\/+$/, '')}/v1/traces`
}
