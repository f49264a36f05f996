/**
 * OpenTelemetry for a process that runs tasks (the deployable worker, `podline run`, `podline
 * worker`): the SDK and the OTLP/HTTP exporter, configured by the standard `OTEL_*` environment
 * (endpoint, headers, service name, batch settings: the SDK's own readers). Off unless
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_TRACES_EXPORTER` is set,
 * and the SDK is then imported, so a process that does not trace never loads it.
 */
import { ConfigError } from './config.js'

export interface Tracing {
  /** Exports what is buffered and stops: call before the process exits. Never rejects (see `warn`). */
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
  const [api, sdk, { OTLPTraceExporter }, resources, core, { AsyncLocalStorageContextManager }] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/core'),
      import('@opentelemetry/context-async-hooks'),
    ])
  const provider = new sdk.TracerProvider({
    resource: resources
      .resourceFromAttributes({ 'service.name': serviceName })
      .merge(resources.detectResources({ detectors: [resources.envDetector] })),
    spanProcessors: kinds.map(
      (kind) =>
        new sdk.BatchSpanProcessor({
          exporter: kind === 'console' ? new sdk.ConsoleSpanExporter() : new OTLPTraceExporter(),
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
    shutdown: () =>
      provider
        .shutdown()
        .catch((error: unknown) => warn(`could not export the last spans: ${(error as Error).message}`)),
  }
}
