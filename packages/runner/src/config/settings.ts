import type { PodRuntimeOptions } from '../worker/pod-runtime.js'
import type { QueueBatching } from '../worker/worker.js'
import type { XComStorageOptions } from '../xcom-store/xcom-storage.js'
import { ConfigError } from './config-error.js'
import {
  EXECUTION_VARIABLES,
  type LOG_LEVELS,
  type PodlineEnvironment,
  parseEnvironment,
  parseVariables,
  STORE_VARIABLES,
} from './environment.js'

type Variables<K extends keyof PodlineEnvironment> = Pick<PodlineEnvironment, K>

/** Where the store is: DATABASE_URL, else the embedded store in PODLINE_DATA_DIR (default .podline/). */
export interface StoreSettings {
  databaseUrl?: string
  dataDir?: string
  /** Where offloaded XCom values are (PODLINE_XCOM_STORE, PODLINE_XCOM_OFFLOAD_BYTES, PODLINE_S3_ENDPOINT). */
  xcoms: XComStorageOptions
}

export type PodSettings = Omit<PodRuntimeOptions, 'xcomSizeLimitBytes'>

/** What `podline run` and `podline worker` take as flags; each wins over its PODLINE_* variable. */
export interface ExecutionFlags {
  concurrency?: number
  podConcurrency?: number
  runtime?: 'kubernetes' | 'process'
  namespace?: string
  kubeContext?: string
}

/** The settings of a process that runs tasks, every default applied. */
export interface ExecutionSettings extends StoreSettings {
  /** Connections of the pool to PostgreSQL (PODLINE_DB_POOL_SIZE). */
  poolSize: number
  concurrency: number
  /** Pod task runs supervised at once (PODLINE_POD_CONCURRENCY). */
  podConcurrency: number
  /** PODLINE_COMPLETION_BATCH_MS, PODLINE_CLAIM_AHEAD. */
  batching: Required<QueueBatching>
  pods: PodSettings
  /** PODLINE_XCOM_LIMIT_BYTES; absent: the runner's default, which depends on the XCom store. */
  xcomSizeLimitBytes?: number
  drainMs: number
  /** How long a claimed task stays this worker's without a heartbeat (PODLINE_LEASE_MS). */
  leaseMs: number
  /** Retention of finished runs (PODLINE_PRUNE_OLDER_THAN); absent: kept. */
  pruneOlderThanMs?: number
}

/** The deployable worker's settings: the environment is its only input. */
export interface WorkerSettings extends ExecutionSettings {
  databaseUrl: string
  patterns: string[]
  httpPort: number
  /** PODLINE_UI_PORT with PODLINE_UI_TOKEN: the web UI beside the worker. */
  ui?: { port: number; token: string }
  logLevel: (typeof LOG_LEVELS)[number]
}

/** Where the store is, for the verbs that only read or change it: other variables are not checked. */
export function storeSettings(env: NodeJS.ProcessEnv = process.env): StoreSettings {
  return storeFrom(parseVariables(STORE_VARIABLES, env))
}

/** Flags win over the environment; the environment over the defaults. Throws ConfigError. */
export function executionSettings(
  flags: ExecutionFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): ExecutionSettings {
  return executionFrom(parseVariables(EXECUTION_VARIABLES, env), flags)
}

/** The deployable worker's settings; it needs DATABASE_URL, and PODLINE_UI_TOKEN with PODLINE_UI_PORT. */
export function workerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const e = parseEnvironment(env)
  if (!e.DATABASE_URL) {
    throw new ConfigError(
      'DATABASE_URL is not set. The worker needs the PostgreSQL database its peers share, e.g. DATABASE_URL=postgres://user:pass@host:5432/podline.',
    )
  }
  if (e.PODLINE_UI_PORT !== undefined && !e.PODLINE_UI_TOKEN) {
    throw new ConfigError(
      `PODLINE_UI_PORT=${e.PODLINE_UI_PORT} serves the UI on every address: set PODLINE_UI_TOKEN to the token its users must present, or unset PODLINE_UI_PORT.`,
    )
  }
  return {
    ...executionFrom(e, {}),
    databaseUrl: e.DATABASE_URL,
    patterns: e.PODLINE_PIPELINES,
    httpPort: e.PODLINE_HTTP_PORT,
    ...(e.PODLINE_UI_PORT !== undefined && e.PODLINE_UI_TOKEN
      ? { ui: { port: e.PODLINE_UI_PORT, token: e.PODLINE_UI_TOKEN } }
      : {}),
    logLevel: e.PODLINE_LOG_LEVEL,
  }
}

/** What `podline ui` reads: the token its API asks for, and the cluster it reads pods from. */
export function uiSettings(env: NodeJS.ProcessEnv = process.env): {
  token?: string
  kube: NonNullable<PodSettings['kube']>
} {
  const e = parseVariables(['PODLINE_UI_TOKEN', 'PODLINE_NAMESPACE', 'PODLINE_KUBE_CONTEXT'], env)
  return { ...(e.PODLINE_UI_TOKEN ? { token: e.PODLINE_UI_TOKEN } : {}), kube: podSettings(e, {}).kube ?? {} }
}

/** PODLINE_TRACE_FLUSH_TIMEOUT_MS, checked, with its default. */
export function traceFlushTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  return parseVariables(['PODLINE_TRACE_FLUSH_TIMEOUT_MS'], env).PODLINE_TRACE_FLUSH_TIMEOUT_MS
}

function storeFrom(e: Variables<(typeof STORE_VARIABLES)[number]>): StoreSettings {
  return {
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    ...(e.PODLINE_DATA_DIR ? { dataDir: e.PODLINE_DATA_DIR } : {}),
    xcoms: {
      ...(e.PODLINE_XCOM_STORE ? { xcomStore: e.PODLINE_XCOM_STORE } : {}),
      xcomOffloadBytes: e.PODLINE_XCOM_OFFLOAD_BYTES,
      ...(e.PODLINE_S3_ENDPOINT ? { s3Endpoint: e.PODLINE_S3_ENDPOINT } : {}),
    },
  }
}

function executionFrom(
  e: Variables<(typeof EXECUTION_VARIABLES)[number]>,
  flags: ExecutionFlags,
): ExecutionSettings {
  return {
    ...storeFrom(e),
    poolSize: e.PODLINE_DB_POOL_SIZE,
    concurrency: flags.concurrency ?? e.PODLINE_CONCURRENCY,
    podConcurrency: flags.podConcurrency ?? e.PODLINE_POD_CONCURRENCY,
    batching: { completionBatchMs: e.PODLINE_COMPLETION_BATCH_MS, claimAhead: e.PODLINE_CLAIM_AHEAD },
    drainMs: e.PODLINE_DRAIN_TIMEOUT_MS,
    leaseMs: e.PODLINE_LEASE_MS,
    ...(e.PODLINE_XCOM_LIMIT_BYTES ? { xcomSizeLimitBytes: e.PODLINE_XCOM_LIMIT_BYTES } : {}),
    ...(e.PODLINE_PRUNE_OLDER_THAN === undefined ? {} : { pruneOlderThanMs: e.PODLINE_PRUNE_OLDER_THAN }),
    pods: podSettings(e, flags),
  }
}

function podSettings(
  e: Partial<
    Variables<
      | 'PODLINE_RUNTIME'
      | 'PODLINE_NAMESPACE'
      | 'PODLINE_KUBE_CONTEXT'
      | 'PODLINE_SIDECAR_IMAGE'
      | 'PODLINE_SIDECAR_MODE'
    >
  >,
  flags: ExecutionFlags,
): PodSettings {
  const runtime = flags.runtime ?? e.PODLINE_RUNTIME
  const namespace = flags.namespace ?? e.PODLINE_NAMESPACE
  const context = flags.kubeContext ?? e.PODLINE_KUBE_CONTEXT
  return {
    ...(runtime ? { runtime } : {}),
    ...(namespace || context
      ? { kube: { ...(namespace ? { namespace } : {}), ...(context ? { context } : {}) } }
      : {}),
    ...(e.PODLINE_SIDECAR_IMAGE ? { sidecarImage: e.PODLINE_SIDECAR_IMAGE } : {}),
    ...(e.PODLINE_SIDECAR_MODE ? { sidecarMode: e.PODLINE_SIDECAR_MODE } : {}),
  }
}
