#!/usr/bin/env node
import {
  drainOnSignals,
  type Engine,
  PipelineFileError,
  SchemaNotReadyError,
  startEngine,
  startTracing,
  type Tracing,
  timeAttempts,
} from '@podline/host'
import { type DatabaseUnreachableError, installTaskFaultHandlers } from '@podline/runner'
import { ConfigError, type WorkerSettings, workerSettings } from '@podline/runner/config'
import { pino } from 'pino'
import { createHttpServer } from './http-server.js'
import { createMetrics } from './metrics.js'

// At 'info' until the configuration is parsed: a bad PODLINE_LOG_LEVEL is reported as such, not thrown by pino.
const log = pino({ level: 'info', base: { pid: process.pid } })
// This process's fault handlers: a task's stray error fails that task, not the worker.
installTaskFaultHandlers({ log: (message) => log.error(message) })

let config: WorkerSettings
let tracing: Tracing | undefined
try {
  config = workerSettings()
  log.level = config.logLevel
  tracing = await startTracing('podline-worker', (message) => log.warn(message))
} catch (error) {
  log.fatal({ err: error }, (error as Error).message)
  process.exit(error instanceof ConfigError ? 2 : 1)
}

const metrics = createMetrics()
let engine: Engine | undefined
const server = createHttpServer({
  ready: () => engine?.state === 'running',
  registry: metrics.registry,
})

// Until the engine runs there is nothing to drain: a signal during start-up just ends the process.
const early = (signal: NodeJS.Signals) => {
  log.info({ signal }, 'signal before the worker started; exiting')
  process.exit(0)
}
process.once('SIGTERM', early)
process.once('SIGINT', early)

await new Promise<void>((resolve) => server.listen(config.httpPort, resolve))
const address = server.address()
log.info({ port: typeof address === 'object' && address ? address.port : config.httpPort }, 'http listening')

try {
  engine = await startEngine({
    patterns: config.patterns,
    settings: config,
    log: (level, message, fields) => log[level](fields ?? {}, message),
    onClaim: (event) => metrics.onClaim(event),
    onAttempt: timeAttempts((event) => {
      metrics.onAttempt(event)
      const { type, ...fields } = event
      if (type === 'started') log.info(fields, `task ${event.task} started`)
      else log[event.state === 'failed' ? 'warn' : 'info'](fields, `task ${event.task} ${event.state}`)
    }),
  })
} catch (error) {
  const usage =
    [PipelineFileError, SchemaNotReadyError].some((c) => error instanceof c) || isUnreachable(error)
  log.fatal({ err: error }, (error as Error).message)
  process.exit(usage ? 2 : 1)
}
metrics.attach(engine)
const uiXComs = config.ui
  ? await (await import('@podline/runner')).openXComStorage(config.xcoms, engine.database)
  : undefined
const ui = config.ui
  ? await (await import('@podline/ui')).startUiServer({
      database: engine.database,
      ...(uiXComs ? { xcomStore: uiXComs.store } : {}),
      port: config.ui.port,
      host: '0.0.0.0',
      token: config.ui.token,
    })
  : undefined
if (ui) log.info({ url: ui.url }, 'ui listening')
// Drain handlers before dropping the early ones and before the announcement: whoever waits for
// "worker ready" may signal at once, and a signal with no handler would kill the process outright.
const stopped = drainOnSignals(engine, (s) =>
  log.info({ signal: s, running: engine?.worker.running }, 'draining'),
)
process.off('SIGTERM', early)
process.off('SIGINT', early)
log.info(
  {
    workerId: engine.worker.id,
    pipelines: engine.pipelines.map((l) => l.pipeline.name),
    concurrency: config.concurrency,
  },
  'worker ready',
)
const signal = await stopped
log.info({ signal }, 'worker stopped')
await ui?.close()
await tracing?.shutdown()
await new Promise<void>((resolve) => server.close(() => resolve()))
process.exit(0)

function isUnreachable(error: unknown): error is DatabaseUnreachableError {
  return error instanceof Error && error.name === 'DatabaseUnreachableError'
}
