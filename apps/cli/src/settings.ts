import type { QueueBatching, XComStorageOptions } from '@podline/runner'
import { InvalidArgumentError } from 'commander'

/** Where the store is: DATABASE_URL, else the embedded store in PODLINE_DATA_DIR (default .podline/). */
export interface StoreSettings {
  databaseUrl?: string
  dataDir?: string
  /** Where offloaded XCom values are read from (PODLINE_XCOM_STORE, PODLINE_S3_ENDPOINT). */
  xcoms?: XComStorageOptions
}

export interface PodSettings {
  runtime?: 'kubernetes' | 'process'
  kube?: { namespace?: string; context?: string }
  sidecarImage?: string
  sidecarMode?: 'native' | 'exec'
}

/** Flags shared by `run` and `worker`; each falls back to its PODLINE_* variable. */
export interface ExecutionFlags {
  concurrency?: number
  podConcurrency?: number
  runtime?: string
  namespace?: string
  kubeContext?: string
}

export interface ExecutionSettings extends StoreSettings {
  /** Connections of the pool to PostgreSQL (PODLINE_DB_POOL_SIZE); absent: the runner's default. */
  poolSize?: number
  concurrency: number
  /** Pod task runs supervised at once (PODLINE_POD_CONCURRENCY); absent: the worker's default. */
  podConcurrency?: number
  /** PODLINE_COMPLETION_BATCH_MS, PODLINE_CLAIM_AHEAD. */
  batching: QueueBatching
  pods: PodSettings
  xcomSizeLimitBytes?: number
  /** PODLINE_XCOM_STORE, PODLINE_XCOM_OFFLOAD_BYTES, PODLINE_S3_ENDPOINT. */
  xcoms: XComStorageOptions
  drainMs: number
  /** How long a claimed task stays this worker's without a heartbeat (PODLINE_LEASE_MS). */
  leaseMs: number
  /** Retention of finished runs (PODLINE_PRUNE_OLDER_THAN); absent: kept. */
  pruneOlderThanMs?: number
}

// The environment's schema, its defaults and its error format live in @podline/worker/config,
// shared with the deployable worker; it loads zod, so it is imported when a verb runs, not at start.
const environment = () => import('@podline/worker/config')

export async function storeSettings(env: NodeJS.ProcessEnv = process.env): Promise<StoreSettings> {
  const { parseStoreEnvironment, xcomSettings } = await environment()
  const e = parseStoreEnvironment(env)
  return {
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    ...(e.PODLINE_DATA_DIR ? { dataDir: e.PODLINE_DATA_DIR } : {}),
    xcoms: xcomSettings(e),
  }
}

/** Flags win over the environment; the environment over the defaults. */
export async function executionSettings(
  flags: ExecutionFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ExecutionSettings> {
  const { parseEnvironment, podSettings, queueBatching, xcomSettings } = await environment()
  const e = parseEnvironment(env)
  const runtime = flags.runtime === 'process' || flags.runtime === 'kubernetes' ? flags.runtime : undefined
  return {
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    ...(e.PODLINE_DATA_DIR ? { dataDir: e.PODLINE_DATA_DIR } : {}),
    ...(e.PODLINE_DB_POOL_SIZE === undefined ? {} : { poolSize: e.PODLINE_DB_POOL_SIZE }),
    concurrency: flags.concurrency ?? e.PODLINE_CONCURRENCY,
    ...((flags.podConcurrency ?? e.PODLINE_POD_CONCURRENCY) === undefined
      ? {}
      : { podConcurrency: flags.podConcurrency ?? e.PODLINE_POD_CONCURRENCY }),
    batching: queueBatching(e),
    drainMs: e.PODLINE_DRAIN_TIMEOUT_MS,
    leaseMs: e.PODLINE_LEASE_MS,
    ...(e.PODLINE_XCOM_LIMIT_BYTES ? { xcomSizeLimitBytes: e.PODLINE_XCOM_LIMIT_BYTES } : {}),
    xcoms: xcomSettings(e),
    ...(e.PODLINE_PRUNE_OLDER_THAN === undefined ? {} : { pruneOlderThanMs: e.PODLINE_PRUNE_OLDER_THAN }),
    pods: podSettings(e, {
      ...(runtime ? { runtime } : {}),
      ...(flags.namespace ? { namespace: flags.namespace } : {}),
      ...(flags.kubeContext ? { kubeContext: flags.kubeContext } : {}),
    }),
  }
}

/** A commander argument parser for counts such as --concurrency and --limit. */
export function parseCount(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a whole number of at least 1.')
  return n
}

export function parseRuntime(value: string): string {
  if (value !== 'kubernetes' && value !== 'process')
    throw new InvalidArgumentError('expected kubernetes or process.')
  return value
}
