// @podline/host: what `podline run`, `podline worker` and the deployable worker share around the
// runner. It imports neither pino nor prom-client (the worker app's), and the OpenTelemetry SDK only
// when traces are asked for.

export type { TimedAttemptEvent } from './attempt-timer.js'
export { timeAttempts } from './attempt-timer.js'
export type { Engine, EngineOptions, EngineState } from './engine.js'
export { drainOnSignals, startEngine } from './engine.js'
export type { LoadedPipeline } from './load-pipelines.js'
export { choosePipeline, expandPatterns, loadPipelineFile, loadPipelines } from './load-pipelines.js'
export { PipelineFileError } from './pipeline-file-error.js'
export { registerTypeScript } from './register-typescript.js'
export { SchemaNotReadyError } from './schema-not-ready-error.js'
export type { Tracing } from './tracing.js'
export { startTracing, tracingRequested } from './tracing.js'
