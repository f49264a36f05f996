import type { PodRuntimeOptions } from '@podline/runner'

/** The deployable worker's settings: the environment is its only input. */
export interface WorkerConfig {
  databaseUrl: string
  patterns: string[]
  concurrency: number
  httpPort: number
  drainMs: number
  leaseMs: number
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'
  xcomSizeLimitBytes?: number
  pods: Omit<PodRuntimeOptions, 'xcomSizeLimitBytes'>
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const databaseUrl = env.DATABASE_URL
  if (!databaseUrl) {
    throw new ConfigError(
      'DATABASE_URL is not set. The worker needs the PostgreSQL database its peers share, e.g. DATABASE_URL=postgres://user:pass@host:5432/podline.',
    )
  }
  const runtime = oneOf('PODLINE_RUNTIME', env.PODLINE_RUNTIME ?? 'kubernetes', [
    'kubernetes',
    'process',
  ] as const)
  const sidecarMode = env.PODLINE_SIDECAR_MODE
    ? oneOf('PODLINE_SIDECAR_MODE', env.PODLINE_SIDECAR_MODE, ['native', 'exec'] as const)
    : undefined
  const kube = {
    ...(env.PODLINE_NAMESPACE ? { namespace: env.PODLINE_NAMESPACE } : {}),
    ...(env.PODLINE_KUBE_CONTEXT ? { context: env.PODLINE_KUBE_CONTEXT } : {}),
  }
  const xcomLimit = env.PODLINE_XCOM_LIMIT_BYTES
    ? count('PODLINE_XCOM_LIMIT_BYTES', env.PODLINE_XCOM_LIMIT_BYTES, 1)
    : undefined
  return {
    databaseUrl,
    patterns: (env.PODLINE_PIPELINES ?? '/pipelines/*.ts')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
    concurrency: count('PODLINE_CONCURRENCY', env.PODLINE_CONCURRENCY ?? '4', 1),
    httpPort: count('PODLINE_HTTP_PORT', env.PODLINE_HTTP_PORT ?? '8080', 0),
    drainMs: count('PODLINE_DRAIN_TIMEOUT_MS', env.PODLINE_DRAIN_TIMEOUT_MS ?? '60000', 0),
    leaseMs: count('PODLINE_LEASE_MS', env.PODLINE_LEASE_MS ?? '30000', 100),
    logLevel: oneOf('PODLINE_LOG_LEVEL', env.PODLINE_LOG_LEVEL ?? 'info', LOG_LEVELS),
    ...(xcomLimit ? { xcomSizeLimitBytes: xcomLimit } : {}),
    pods: {
      runtime,
      ...(Object.keys(kube).length ? { kube } : {}),
      ...(env.PODLINE_SIDECAR_IMAGE ? { sidecarImage: env.PODLINE_SIDECAR_IMAGE } : {}),
      ...(sidecarMode ? { sidecarMode } : {}),
    },
  }
}

function count(name: string, value: string, min: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min)
    throw new ConfigError(`${name}=${value} is not a whole number of at least ${min}.`)
  return n
}

function oneOf<const T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new ConfigError(`${name}=${value} is not one of: ${allowed.join(', ')}.`)
  return value as T
}
