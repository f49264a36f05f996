import type { PodRuntimeOptions, QueueBatching, XComStorageOptions } from '@podline/runner'
import { type Duration, parseDuration } from '@podline/sdk'
import { z } from 'zod'

/** An environment variable that does not parse: the message names it, its value and the fix; exit 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

// Each schema's message completes "NAME=value is not …", the one error format of every variable.
const wholeNumber = (min: number) => {
  const expected = `a whole number of at least ${min}`
  return z
    .string()
    .regex(/^\d+$/, { error: expected })
    .transform(Number)
    .pipe(z.number().int().min(min, { error: expected }))
}
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `one of ${values.join(', ')}` })
/** The SDK's durations ('30d', '12h', '90m'), parsed by the SDK's one parser, in milliseconds. */
const duration = z.string().transform((v, ctx) => {
  try {
    // parseDuration checks the text at run time; the cast only lets a variable's string reach it.
    return parseDuration(v as Duration, 'the duration')
  } catch {
    ctx.addIssue({ code: 'custom', message: "a duration such as '30d', '12h' or '90m'" })
    return z.NEVER
  }
})
const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
)

/**
 * Every environment variable Podline reads, with its type and its default: the one home of all
 * three for `podline` (where flags win over it) and the deployable worker.
 */
export const ENVIRONMENT = z.object({
  /** The shared PostgreSQL; without it `podline` uses the embedded store. */
  DATABASE_URL: z.string().optional(),
  /** Folder of the embedded store (default `.podline/`). */
  PODLINE_DATA_DIR: z.string().optional(),
  /** The deployable worker's pipeline files and globs, comma-separated. */
  PODLINE_PIPELINES: commaList.default(['/pipelines/*.ts']),
  PODLINE_CONCURRENCY: wholeNumber(1).default(4),
  /** Connections of a worker's (or `podline run`'s) pool to PostgreSQL, beside its LISTEN and lease connections; default 4. */
  PODLINE_DB_POOL_SIZE: wholeNumber(1).optional(),
  /** Pod task runs a worker supervises at once, apart from PODLINE_CONCURRENCY; unset: the worker's default (256). */
  PODLINE_POD_CONCURRENCY: wholeNumber(1).optional(),
  /** Batched completion: how long (ms) an ending waits for others to share its transaction; 0: each alone. Unset: the worker's default (2). */
  PODLINE_COMPLETION_BATCH_MS: wholeNumber(0).optional(),
  /** At most this many inline task runs claimed ahead of free slots into the worker's local queue; 0: none. Unset: the worker's default (64). */
  PODLINE_CLAIM_AHEAD: wholeNumber(0).optional(),
  PODLINE_HTTP_PORT: wholeNumber(0).default(8080),
  /** The worker app serves the web UI on this port (all addresses) when set; it needs PODLINE_UI_TOKEN. */
  PODLINE_UI_PORT: wholeNumber(0).optional(),
  /** The token every call to the UI's API must present (`podline ui` off loopback, the worker's UI). */
  PODLINE_UI_TOKEN: z.string().optional(),
  PODLINE_DRAIN_TIMEOUT_MS: wholeNumber(0).default(60_000),
  /** How long a traced process, when it stops, waits for its last spans to reach the collector. */
  PODLINE_TRACE_FLUSH_TIMEOUT_MS: wholeNumber(0).default(2000),
  PODLINE_LEASE_MS: wholeNumber(100).default(30_000),
  PODLINE_LOG_LEVEL: oneOf(LOG_LEVELS).default('info'),
  PODLINE_XCOM_LIMIT_BYTES: wholeNumber(1).optional(),
  /** Where XCom values over PODLINE_XCOM_OFFLOAD_BYTES go (file:///folder, s3://bucket/prefix); the embedded store's default is `<data dir>/xcoms`. */
  PODLINE_XCOM_STORE: z
    .string()
    .regex(/^(file:\/\/\/|s3:\/\/[^/]+)/, {
      error: 'a store URL such as file:///srv/xcoms or s3://bucket/prefix',
    })
    .optional(),
  PODLINE_XCOM_OFFLOAD_BYTES: wholeNumber(0).optional(),
  /** An S3-compatible server (MinIO, R2, GCS interoperability); AWS's own endpoint when unset. */
  PODLINE_S3_ENDPOINT: z.url({ error: 'a URL such as http://minio:9000' }).optional(),
  /** Retention: workers delete runs that finished longer ago than this, a small batch at a time. Default off. */
  PODLINE_PRUNE_OLDER_THAN: duration.optional(),
  PODLINE_RUNTIME: oneOf(['kubernetes', 'process']).default('kubernetes'),
  PODLINE_NAMESPACE: z.string().optional(),
  PODLINE_KUBE_CONTEXT: z.string().optional(),
  PODLINE_SIDECAR_IMAGE: z.string().optional(),
  PODLINE_SIDECAR_MODE: oneOf(['native', 'exec']).optional(),
})

export type PodlineEnvironment = z.output<typeof ENVIRONMENT>
export type EnvironmentVariable = keyof typeof ENVIRONMENT.shape

/** Where the store is: what the operator verbs need, so a bad unrelated variable does not stop them. */
const STORE_ENVIRONMENT = ENVIRONMENT.pick({
  DATABASE_URL: true,
  PODLINE_DATA_DIR: true,
  PODLINE_XCOM_STORE: true,
  PODLINE_S3_ENDPOINT: true,
})

/** The tracing settings alone: `podline trigger` traces without reading the execution settings. */
const TRACING_ENVIRONMENT = ENVIRONMENT.pick({ PODLINE_TRACE_FLUSH_TIMEOUT_MS: true })

function parseWith<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  // An empty variable counts as unset, as `PODLINE_RUNTIME= podline run …` means in a shell.
  const given = Object.fromEntries(
    Object.keys(schema.shape).flatMap((key) => (env[key] ? [[key, env[key]]] : [])),
  )
  const result = schema.safeParse(given)
  if (result.success) return result.data
  throw new ConfigError(
    result.error.issues
      .map((issue) => {
        const key = String(issue.path[0])
        return `${key}=${given[key]} is not ${issue.message}; fix or unset it.`
      })
      .join('\n'),
  )
}

/** The whole environment, checked, with the defaults applied. Throws ConfigError. */
export function parseEnvironment(env: NodeJS.ProcessEnv = process.env): PodlineEnvironment {
  return parseWith(ENVIRONMENT, env)
}

/** DATABASE_URL and PODLINE_DATA_DIR only. */
export function parseStoreEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): z.output<typeof STORE_ENVIRONMENT> {
  return parseWith(STORE_ENVIRONMENT, env)
}

/** PODLINE_TRACE_FLUSH_TIMEOUT_MS, checked, with its default. */
export function parseTracingEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): z.output<typeof TRACING_ENVIRONMENT> {
  return parseWith(TRACING_ENVIRONMENT, env)
}

/** The deployable worker's settings: the environment is its only input. */
export interface WorkerConfig {
  databaseUrl: string
  /** PODLINE_DB_POOL_SIZE; absent: the runner's default. */
  poolSize?: number
  patterns: string[]
  concurrency: number
  podConcurrency?: number
  batching: QueueBatching
  httpPort: number
  /** PODLINE_UI_PORT with PODLINE_UI_TOKEN: the web UI beside the worker. */
  ui?: { port: number; token: string }
  drainMs: number
  leaseMs: number
  logLevel: (typeof LOG_LEVELS)[number]
  xcomSizeLimitBytes?: number
  xcoms: XComStorageOptions
  pruneOlderThanMs?: number
  pods: Omit<PodRuntimeOptions, 'xcomSizeLimitBytes'>
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
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
    databaseUrl: e.DATABASE_URL,
    ...(e.PODLINE_DB_POOL_SIZE === undefined ? {} : { poolSize: e.PODLINE_DB_POOL_SIZE }),
    patterns: e.PODLINE_PIPELINES,
    concurrency: e.PODLINE_CONCURRENCY,
    ...(e.PODLINE_POD_CONCURRENCY === undefined ? {} : { podConcurrency: e.PODLINE_POD_CONCURRENCY }),
    batching: queueBatching(e),
    httpPort: e.PODLINE_HTTP_PORT,
    ...(e.PODLINE_UI_PORT !== undefined && e.PODLINE_UI_TOKEN
      ? { ui: { port: e.PODLINE_UI_PORT, token: e.PODLINE_UI_TOKEN } }
      : {}),
    drainMs: e.PODLINE_DRAIN_TIMEOUT_MS,
    leaseMs: e.PODLINE_LEASE_MS,
    logLevel: e.PODLINE_LOG_LEVEL,
    ...(e.PODLINE_XCOM_LIMIT_BYTES ? { xcomSizeLimitBytes: e.PODLINE_XCOM_LIMIT_BYTES } : {}),
    xcoms: xcomSettings(e),
    ...(e.PODLINE_PRUNE_OLDER_THAN === undefined ? {} : { pruneOlderThanMs: e.PODLINE_PRUNE_OLDER_THAN }),
    pods: podSettings(e),
  }
}

/** Batched completion and claim ahead from the environment; unset fields keep the worker's defaults. */
export function queueBatching(e: Partial<PodlineEnvironment>): QueueBatching {
  return {
    ...(e.PODLINE_COMPLETION_BATCH_MS === undefined
      ? {}
      : { completionBatchMs: e.PODLINE_COMPLETION_BATCH_MS }),
    ...(e.PODLINE_CLAIM_AHEAD === undefined ? {} : { claimAhead: e.PODLINE_CLAIM_AHEAD }),
  }
}

/** The XCom store's settings from the environment, for every entry point that reads or writes XComs. */
export function xcomSettings(e: Partial<PodlineEnvironment>): XComStorageOptions {
  return {
    ...(e.PODLINE_XCOM_STORE ? { xcomStore: e.PODLINE_XCOM_STORE } : {}),
    ...(e.PODLINE_XCOM_OFFLOAD_BYTES === undefined ? {} : { xcomOffloadBytes: e.PODLINE_XCOM_OFFLOAD_BYTES }),
    ...(e.PODLINE_S3_ENDPOINT ? { s3Endpoint: e.PODLINE_S3_ENDPOINT } : {}),
  }
}

/** The pod runtime's settings from the environment; `podline`'s flags override these fields. */
export function podSettings(
  e: PodlineEnvironment,
  override: { runtime?: 'kubernetes' | 'process'; namespace?: string; kubeContext?: string } = {},
): Omit<PodRuntimeOptions, 'xcomSizeLimitBytes'> {
  const namespace = override.namespace ?? e.PODLINE_NAMESPACE
  const context = override.kubeContext ?? e.PODLINE_KUBE_CONTEXT
  return {
    runtime: override.runtime ?? e.PODLINE_RUNTIME,
    ...(namespace || context
      ? { kube: { ...(namespace ? { namespace } : {}), ...(context ? { context } : {}) } }
      : {}),
    ...(e.PODLINE_SIDECAR_IMAGE ? { sidecarImage: e.PODLINE_SIDECAR_IMAGE } : {}),
    ...(e.PODLINE_SIDECAR_MODE ? { sidecarMode: e.PODLINE_SIDECAR_MODE } : {}),
  }
}
