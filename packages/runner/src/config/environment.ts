import { type Duration, parseDuration } from '@podline/sdk'
import { z } from 'zod'
import { DEFAULT_POOL_SIZE } from '../store/database.js'
import {
  DEFAULT_CLAIM_AHEAD,
  DEFAULT_COMPLETION_BATCH_MS,
  DEFAULT_CONCURRENCY,
  DEFAULT_DRAIN_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_POD_CONCURRENCY,
} from '../worker/worker.js'
import { DEFAULT_OFFLOAD_BYTES } from '../xcom-store/xcom-reference.js'
import { ConfigError } from './config-error.js'

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
 * three for every entry point (`podline`, where flags win over it; the deployable worker; runLocal,
 * where options win over it; the UI). A default the runner applies to its own option is the
 * runner's constant, named here, never a second copy of its value; a variable whose default depends
 * on another (PODLINE_XCOM_LIMIT_BYTES: 1 MiB, 5 GiB with a store) stays unset for the runner to decide.
 */
export const ENVIRONMENT = z.object({
  /** The shared PostgreSQL; without it the embedded store. */
  DATABASE_URL: z.string().optional(),
  /** Folder of the embedded store (default `.podline/`). */
  PODLINE_DATA_DIR: z.string().optional(),
  /** The deployable worker's pipeline files and globs, comma-separated. */
  PODLINE_PIPELINES: commaList.default(['/pipelines/*.ts']),
  PODLINE_CONCURRENCY: wholeNumber(1).default(DEFAULT_CONCURRENCY),
  /** Connections of a worker's (or `podline run`'s) pool to PostgreSQL, beside its LISTEN and lease connections. */
  PODLINE_DB_POOL_SIZE: wholeNumber(1).default(DEFAULT_POOL_SIZE),
  /** Pod task runs a worker supervises at once, apart from PODLINE_CONCURRENCY. */
  PODLINE_POD_CONCURRENCY: wholeNumber(1).default(DEFAULT_POD_CONCURRENCY),
  /** Batched completion: how long (ms) an ending waits for others to share its transaction; 0: each alone. */
  PODLINE_COMPLETION_BATCH_MS: wholeNumber(0).default(DEFAULT_COMPLETION_BATCH_MS),
  /** At most this many inline task runs claimed ahead of free slots into the worker's local queue; 0: none. */
  PODLINE_CLAIM_AHEAD: wholeNumber(0).default(DEFAULT_CLAIM_AHEAD),
  PODLINE_HTTP_PORT: wholeNumber(0).default(8080),
  /** The worker app serves the web UI on this port (all addresses) when set; it needs PODLINE_UI_TOKEN. */
  PODLINE_UI_PORT: wholeNumber(0).optional(),
  /** The token every call to the UI's API must present (`podline ui` off loopback, the worker's UI). */
  PODLINE_UI_TOKEN: z.string().optional(),
  PODLINE_DRAIN_TIMEOUT_MS: wholeNumber(0).default(DEFAULT_DRAIN_MS),
  /** How long a traced process, when it stops, waits for its last spans to reach the collector. */
  PODLINE_TRACE_FLUSH_TIMEOUT_MS: wholeNumber(0).default(2000),
  PODLINE_LEASE_MS: wholeNumber(100).default(DEFAULT_LEASE_MS),
  PODLINE_LOG_LEVEL: oneOf(LOG_LEVELS).default('info'),
  /** Unset: 1 MiB, or 5 GiB with PODLINE_XCOM_STORE (the runner's defaults). */
  PODLINE_XCOM_LIMIT_BYTES: wholeNumber(1).optional(),
  /** Where XCom values over PODLINE_XCOM_OFFLOAD_BYTES go (file:///folder, s3://bucket/prefix); the embedded store's default is `<data dir>/xcoms`. */
  PODLINE_XCOM_STORE: z
    .string()
    .regex(/^(file:\/\/\/|s3:\/\/[^/]+)/, {
      error: 'a store URL such as file:///srv/xcoms or s3://bucket/prefix',
    })
    .optional(),
  PODLINE_XCOM_OFFLOAD_BYTES: wholeNumber(0).default(DEFAULT_OFFLOAD_BYTES),
  /** An S3-compatible server (MinIO, R2, GCS interoperability); AWS's own endpoint when unset. */
  PODLINE_S3_ENDPOINT: z.url({ error: 'a URL such as http://minio:9000' }).optional(),
  /** Retention: workers delete runs that finished longer ago than this, a small batch at a time. Default off. */
  PODLINE_PRUNE_OLDER_THAN: duration.optional(),
  /** Unset: the runner's default, kubernetes. */
  PODLINE_RUNTIME: oneOf(['kubernetes', 'process']).optional(),
  PODLINE_NAMESPACE: z.string().optional(),
  PODLINE_KUBE_CONTEXT: z.string().optional(),
  PODLINE_SIDECAR_IMAGE: z.string().optional(),
  PODLINE_SIDECAR_MODE: oneOf(['native', 'exec']).optional(),
})

export type PodlineEnvironment = z.output<typeof ENVIRONMENT>
export type EnvironmentVariable = keyof typeof ENVIRONMENT.shape

/** Where the store is: what the operator verbs need, so a bad unrelated variable does not stop them. */
export const STORE_VARIABLES = [
  'DATABASE_URL',
  'PODLINE_DATA_DIR',
  'PODLINE_XCOM_STORE',
  'PODLINE_XCOM_OFFLOAD_BYTES',
  'PODLINE_S3_ENDPOINT',
] as const satisfies readonly EnvironmentVariable[]

/** What a process that runs tasks reads (`podline run`, `podline worker`, runLocal): not the worker app's own. */
export const EXECUTION_VARIABLES = [
  ...STORE_VARIABLES,
  'PODLINE_CONCURRENCY',
  'PODLINE_DB_POOL_SIZE',
  'PODLINE_POD_CONCURRENCY',
  'PODLINE_COMPLETION_BATCH_MS',
  'PODLINE_CLAIM_AHEAD',
  'PODLINE_DRAIN_TIMEOUT_MS',
  'PODLINE_LEASE_MS',
  'PODLINE_XCOM_LIMIT_BYTES',
  'PODLINE_PRUNE_OLDER_THAN',
  'PODLINE_RUNTIME',
  'PODLINE_NAMESPACE',
  'PODLINE_KUBE_CONTEXT',
  'PODLINE_SIDECAR_IMAGE',
  'PODLINE_SIDECAR_MODE',
] as const satisfies readonly EnvironmentVariable[]

/** These variables alone, checked, with their defaults applied: others are not read. Throws ConfigError. */
export function parseVariables<K extends EnvironmentVariable>(
  names: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Pick<PodlineEnvironment, K> {
  const mask: Partial<Record<EnvironmentVariable, true>> = Object.fromEntries(
    names.map((name) => [name, true]),
  )
  // pick() keeps exactly the named keys; its result type cannot be spelt from a list of names.
  return parseWith(ENVIRONMENT.pick(mask), env) as Pick<PodlineEnvironment, K>
}

/** The whole environment, checked, with the defaults applied. Throws ConfigError. */
export function parseEnvironment(env: NodeJS.ProcessEnv = process.env): PodlineEnvironment {
  return parseWith(ENVIRONMENT, env)
}

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
