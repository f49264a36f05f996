import { expect, it } from 'vitest'
import { ConfigError } from './config.js'
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
