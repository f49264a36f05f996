// @podline/runner/config: the environment every entry point reads, checked by one schema. It loads
// zod, so the CLI imports it when a verb runs, not at start.
export { ConfigError } from './config-error.js'
export type { EnvironmentVariable, PodlineEnvironment } from './environment.js'
export { ENVIRONMENT, LOG_LEVELS, parseEnvironment } from './environment.js'
export type {
  ExecutionFlags,
  ExecutionSettings,
  PodSettings,
  StoreSettings,
  WorkerSettings,
} from './settings.js'
export {
  executionSettings,
  storeSettings,
  traceFlushTimeoutMs,
  uiSettings,
  workerSettings,
} from './settings.js'
