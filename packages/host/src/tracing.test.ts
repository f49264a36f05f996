import { type AddressInfo, createServer, type Socket } from 'node:net'
import { trace } from '@opentelemetry/api'
import { ConfigError } from '@podline/runner/config'
import { expect, it } from 'vitest'
import { startTracing, tracingRequested } from './tracing.js'

it('tracing is off unless an OTLP endpoint or a traces exporter is set', () => {
  expect(tracingRequested({})).toBe(false)
  expect(tracingRequested({ OTEL_SERVICE_NAME: 'x' })).toBe(false)
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true)
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(
    true,
  )
  expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true)
  expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(
    false,
  )
  expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(false)
})

it('an unknown OTEL_TRACES_EXPORTER is a configuration error that names the accepted ones', async () => {
  const started = startTracing('test', () => {}, { OTEL_TRACES_EXPORTER: 'jaeger' })
  await expect(started).rejects.toThrow(ConfigError)
  await expect(started).rejects.toThrow(
    'OTEL_TRACES_EXPORTER=jaeger is not one of otlp, console, none; fix or unset it.',
  )
})

it('a collector that never answers holds the exit only PODLINE_TRACE_FLUSH_TIMEOUT_MS, and the drop is said once', async () => {
  // Accepts connections and never answers: each export would wait out OTEL_EXPORTER_OTLP_TIMEOUT.
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => sockets.add(socket))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
  // The exporter reads its settings from process.env; ten minutes is past this test's own deadline.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint
  process.env.OTEL_EXPORTER_OTLP_TIMEOUT = '600000'
  const warnings: string[] = []
  try {
    const tracing = await startTracing('test', (m) => warnings.push(m), {
      ...process.env,
      PODLINE_TRACE_FLUSH_TIMEOUT_MS: '100',
    })
    for (const name of ['a', 'b', 'c']) trace.getTracer('test').startSpan(name).end()
    await tracing?.shutdown()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(
      /^3 spans were dropped: the trace exporter did not take them within 100 ms of the process stopping \(PODLINE_TRACE_FLUSH_TIMEOUT_MS\)\. Check OTEL_EXPORTER_OTLP_ENDPOINT/,
    )
  } finally {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT
    delete process.env.OTEL_EXPORTER_OTLP_TIMEOUT
    for (const socket of sockets) socket.destroy()
    silent.close()
  }
})

it('PODLINE_TRACE_FLUSH_TIMEOUT_MS that is not a whole number is a configuration error', async () => {
  await expect(
    startTracing('test', () => {}, {
      OTEL_TRACES_EXPORTER: 'console',
      PODLINE_TRACE_FLUSH_TIMEOUT_MS: 'soon',
    }),
  ).rejects.toThrow(
    'PODLINE_TRACE_FLUSH_TIMEOUT_MS=soon is not a whole number of at least 0; fix or unset it.',
  )
})
