import { InvalidArgumentError } from 'commander'
import { UsageError } from './usage-error.js'

/** Where the store is: DATABASE_URL, else the embedded store in PODLINE_DATA_DIR (default .podline/). */
export interface StoreSettings {
  databaseUrl?: string
  dataDir?: string
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
  runtime?: string
  namespace?: string
  kubeContext?: string
}

export interface ExecutionSettings extends StoreSettings {
  concurrency: number
  pods: PodSettings
  xcomSizeLimitBytes?: number
  drainMs: number
  /** How long a claimed task stays this worker's without a heartbeat (PODLINE_LEASE_MS). */
  leaseMs?: number
}

export function storeSettings(env: NodeJS.ProcessEnv = process.env): StoreSettings {
  return {
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    ...(env.PODLINE_DATA_DIR ? { dataDir: env.PODLINE_DATA_DIR } : {}),
  }
}

/** Flags win over the environment; the environment over the defaults. */
export function executionSettings(
  flags: ExecutionFlags,
  env: NodeJS.ProcessEnv = process.env,
): ExecutionSettings {
  const runtime = flags.runtime ?? env.PODLINE_RUNTIME
  const sidecarMode = env.PODLINE_SIDECAR_MODE
  const namespace = flags.namespace ?? env.PODLINE_NAMESPACE
  const context = flags.kubeContext ?? env.PODLINE_KUBE_CONTEXT
  const xcomLimit = env.PODLINE_XCOM_LIMIT_BYTES
  return {
    ...storeSettings(env),
    concurrency:
      flags.concurrency ??
      (env.PODLINE_CONCURRENCY ? wholeNumber(env.PODLINE_CONCURRENCY, 'PODLINE_CONCURRENCY', 1) : 4),
    drainMs: env.PODLINE_DRAIN_TIMEOUT_MS
      ? wholeNumber(env.PODLINE_DRAIN_TIMEOUT_MS, 'PODLINE_DRAIN_TIMEOUT_MS', 0)
      : 60_000,
    ...(xcomLimit ? { xcomSizeLimitBytes: wholeNumber(xcomLimit, 'PODLINE_XCOM_LIMIT_BYTES', 1) } : {}),
    ...(env.PODLINE_LEASE_MS ? { leaseMs: wholeNumber(env.PODLINE_LEASE_MS, 'PODLINE_LEASE_MS', 100) } : {}),
    pods: {
      ...(runtime ? { runtime: oneOf(runtime, 'PODLINE_RUNTIME', ['kubernetes', 'process'] as const) } : {}),
      ...(namespace || context
        ? { kube: { ...(namespace ? { namespace } : {}), ...(context ? { context } : {}) } }
        : {}),
      ...(env.PODLINE_SIDECAR_IMAGE ? { sidecarImage: env.PODLINE_SIDECAR_IMAGE } : {}),
      ...(sidecarMode
        ? { sidecarMode: oneOf(sidecarMode, 'PODLINE_SIDECAR_MODE', ['native', 'exec'] as const) }
        : {}),
    },
  }
}

/** A commander argument parser for counts such as --concurrency. */
export function parseCount(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1.')
  return n
}

export function parseRuntime(value: string): string {
  if (value !== 'kubernetes' && value !== 'process')
    throw new InvalidArgumentError('expected kubernetes or process.')
  return value
}

function wholeNumber(value: string, name: string, min: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${name}=${value} is not a whole number of at least ${min}; fix or unset it.`)
  return n
}

function oneOf<const T extends string>(value: string, name: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${name}=${value} is not one of ${allowed.join(', ')}; fix or unset it.`)
  }
  return value as T
}
