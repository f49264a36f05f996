import type { AnyAsset } from './asset.js'
import { type CacheOptions, type PlanCache, resolveCache } from './cache.js'
import { TASK_CALLBACK_KEYS, type TaskCallbackOptions } from './callbacks.js'
import { concurrencyProblem, type TaskConcurrencyOptions } from './concurrency.js'
import type { PodRunOptions } from './pod-spec.js'
import { poolNameProblem } from './pool.js'

/** When a task may run, given how the tasks it needs ended (Airflow's names and meanings). */
export const TRIGGER_RULES = [
  'all_success',
  'all_done',
  'all_failed',
  'one_success',
  'one_failed',
  'none_failed',
] as const
export type TriggerRule = (typeof TRIGGER_RULES)[number]

/** A duration in milliseconds, or a string such as `'30s'`, `'5m'`, `'1h'`, `'250ms'`, `'30d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

export interface RetryDelay {
  /** Delay before the first retry. Default 1s. */
  initial?: Duration
  /** Each further retry waits `factor` times longer. Default 2. */
  factor?: number
  /** Upper bound of a single delay. Default 5m. */
  max?: Duration
  /** Fraction (0–1) of each delay that is randomised, so retries of many tasks spread out. Default 0.2. */
  jitter?: number
}

export interface TaskOptions<
  Needs extends readonly string[] = readonly string[],
  Rule extends TriggerRule = TriggerRule,
  Params = unknown,
  /** What the task receives from its upstream tasks: its key and priority functions may read it. */
  Inputs = Record<string, unknown>,
  /** The assets it produces: inferred from `produces`, so its output can be checked against them. */
  Produces extends ProducedAssets | undefined = ProducedAssets | undefined,
> extends TaskCallbackOptions<Params> {
  /** The earlier tasks whose outputs this task receives, keyed by name. */
  needs?: Needs
  /** How many times a failed attempt is retried. Default 0. */
  retries?: number
  /** Backoff between retries: a fixed duration or exponential settings. */
  retryDelay?: Duration | RetryDelay
  /** An attempt running longer is aborted (its `ctx.signal` fires) and fails. */
  timeout?: Duration
  /**
   * Default `all_success`. Under any other rule the task can run after an upstream failed or was
   * skipped, so its inputs are typed `T | undefined`.
   */
  triggerRule?: Rule
  /**
   * Higher runs first when workers are saturated: a number, or a function of the run's params and
   * the task's inputs (an integer; computed when the run is created, or, when it reads the inputs,
   * once the upstream tasks have ended). Default 0.
   * @example
   * p.task('sync', { priority: ({ params }) => (params.tier === 'gold' ? 10 : 0) }, work)
   * p.task('load', { needs: ['extract'], priority: ({ inputs }) => inputs.extract.rows }, load)
   */
  priority?: number | ((task: { params: Params; inputs: Inputs }) => number)
  /**
   * A concurrency key of the task (Hatchet's and Inngest's, per task): across runs and workers, at
   * most `limit` of its task runs with the same key run at once, in the order they became ready;
   * other keys do not wait. The key is a function of the run's params and the task's inputs,
   * computed when the run is created, or, when it reads the inputs, once the upstream tasks have
   * ended. Each item of a mapped task takes its own place.
   * @example
   * p.task('load', { concurrency: { key: ({ params }) => params.warehouse, limit: 2 } }, load)
   * p.task('sync', { needs: ['lookup'], concurrency: { key: ({ inputs }) => inputs.lookup.account } }, sync)
   */
  concurrency?: TaskConcurrencyOptions<Params, Inputs>
  /**
   * A pool this task takes slots of while it runs (Airflow's `pool`): across all workers, the running
   * task runs of a pool never take more slots than the pool has. The pool must exist when a worker
   * registers the pipeline: `podline pools set warehouse --slots 4`. Each item of a mapped task takes
   * its own. Default: no pool.
   */
  pool?: string
  /** How many slots of `pool` one task run takes (Airflow's `pool_slots`): a positive integer. Default 1. */
  poolSlots?: number
  /**
   * The assets its success updates: each success records an event with its output, which must be
   * of the asset's type (a compile error otherwise), and runs the pipelines `on` the asset.
   * @example
   * p.task('load', { produces: orders }, async () => ({ date: '2026-12-07', rows: 120 }))
   */
  produces?: Produces
  /**
   * Cached results: a run whose task has the key of an earlier success (within `ttl`) takes that
   * success's output instead of running it (`podline status` and the UI mark it cached, with the
   * run it came from). By default the key hashes the inputs, the params, `version` and a pod's
   * rendered spec. `podline run --no-cache` and `triggerPipeline(…, { cache: false })` bypass it.
   * @example
   * p.task('features', { needs: ['extract'], cache: { version: '1', ttl: '7d' } }, compute)
   */
  cache?: CacheOptions<Inputs, Params>
}

/** What `produces` takes: one asset, or several (the output must then be of each one's type). */
export type ProducedAssets = AnyAsset | readonly AnyAsset[]

/** Every option a task takes: a misspelt one (`timeoutMs`, `retry`) is refused when the task is defined. */
export const TASK_OPTION_KEYS = [
  'needs',
  'retries',
  'retryDelay',
  'timeout',
  'triggerRule',
  'priority',
  'concurrency',
  'pool',
  'poolSlots',
  'produces',
  'cache',
  ...TASK_CALLBACK_KEYS,
] as const satisfies readonly (keyof TaskOptions)[]

/** What a mapped task (`.map`, `.mapPod`) takes besides the task's other options. */
export const MAP_OPTION_KEYS = ['over', 'maxParallel'] as const

/** What a wait takes (see WaitOptions): a misspelt one is refused as for a task. */
export const WAIT_OPTION_KEYS = ['needs', 'triggerRule', 'signal', 'timeout', 'sleep'] as const

/** What a pod task takes besides the task options (see PodRunOptions and PodTaskOptions). */
export const POD_OPTION_KEYS = [
  'output',
  'onFinish',
  'scheduleTimeout',
  'skipOnExitCode',
  'xcomPath',
  'sidecar',
] as const satisfies readonly (keyof PodRunOptions | 'output')[]

// The lists above must name every member of their interfaces; this fails to compile when one is added.
type Missing<T, Listed> = Exclude<keyof T, Listed>
const _everyTaskOption: [Missing<TaskOptions, (typeof TASK_OPTION_KEYS)[number]>] extends [never]
  ? true
  : never = true
const _everyPodOption: [Missing<PodRunOptions, (typeof POD_OPTION_KEYS)[number]>] extends [never]
  ? true
  : never = true
void _everyTaskOption
void _everyPodOption

/** The options of a task as stored in a plan: every default applied, durations in milliseconds. */
export interface ResolvedTaskOptions {
  retries: number
  retryDelay: { initialMs: number; factor: number; maxMs: number; jitter: number }
  timeoutMs: number | null
  triggerRule: TriggerRule
  /** 0 when the priority is computed from the params (`priorityFromParams`). */
  priority: number
  /** Present only when the priority is a function of the params. */
  priorityFromParams?: true
  /** Present only with a concurrency key (the key is code: the plan keeps its limit). */
  concurrency?: { limit: number }
  /** Present only with a pool (and then `poolSlots` too): a plan without pools hashes as it always did. */
  pool?: string
  poolSlots?: number
  /** Present only with a cache (its key function stays with the code). */
  cache?: PlanCache
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

export function parseDuration(value: Duration, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new TypeError(`${what} must be a non-negative number of milliseconds`)
    return value
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value)
  if (!match)
    throw new TypeError(
      `${what} ${JSON.stringify(value)} is not a duration: use milliseconds or '250ms', '30s', '5m', '1h', '30d'`,
    )
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}

export function resolveTaskOptions(task: string, options: TaskOptions): ResolvedTaskOptions {
  const retries = options.retries ?? 0
  if (!Number.isInteger(retries) || retries < 0)
    throw new TypeError(`task "${task}": retries must be a non-negative integer`)
  const rd = options.retryDelay
  const delay: RetryDelay = typeof rd === 'object' ? rd : rd === undefined ? {} : { initial: rd, factor: 1 }
  const factor = delay.factor ?? 2
  const jitter = delay.jitter ?? 0.2
  if (!(factor >= 1)) throw new TypeError(`task "${task}": retryDelay.factor must be >= 1`)
  if (!(jitter >= 0 && jitter <= 1))
    throw new TypeError(`task "${task}": retryDelay.jitter must be between 0 and 1`)
  const triggerRule = options.triggerRule ?? 'all_success'
  if (!TRIGGER_RULES.includes(triggerRule)) {
    throw new TypeError(
      `task "${task}": unknown triggerRule ${JSON.stringify(triggerRule)}; use one of ${TRIGGER_RULES.join(', ')}`,
    )
  }
  const computed = typeof options.priority === 'function'
  const priority = typeof options.priority === 'function' ? 0 : (options.priority ?? 0)
  if (!Number.isInteger(priority))
    throw new TypeError(
      `task "${task}": priority must be an integer or a function of the params and inputs that returns one`,
    )
  const keyProblem = options.concurrency === undefined ? undefined : concurrencyProblem(options.concurrency)
  if (keyProblem) throw new TypeError(`task "${task}": ${keyProblem}`)
  return {
    retries,
    retryDelay: {
      initialMs: parseDuration(delay.initial ?? 1000, `task "${task}": retryDelay.initial`),
      factor,
      maxMs: parseDuration(delay.max ?? 300_000, `task "${task}": retryDelay.max`),
      jitter,
    },
    timeoutMs:
      options.timeout === undefined ? null : parseDuration(options.timeout, `task "${task}": timeout`),
    triggerRule,
    priority,
    ...(computed ? { priorityFromParams: true as const } : {}),
    ...(options.concurrency ? { concurrency: { limit: options.concurrency.limit ?? 1 } } : {}),
    ...resolvePool(task, options),
    ...(options.cache === undefined ? {} : { cache: resolveCache(task, options.cache) }),
  }
}

/** A task's pool and its slots, or nothing without a pool. */
function resolvePool(task: string, options: TaskOptions): Pick<ResolvedTaskOptions, 'pool' | 'poolSlots'> {
  const { pool, poolSlots } = options
  if (pool === undefined) {
    if (poolSlots !== undefined)
      throw new TypeError(`task "${task}": poolSlots takes slots of a pool; name it with pool`)
    return {}
  }
  const problem = poolNameProblem(pool)
  if (problem) throw new TypeError(`task "${task}": ${problem}`)
  const slots: number = poolSlots ?? 1
  if (!Number.isInteger(slots) || slots < 1)
    throw new TypeError(
      `task "${task}": poolSlots must be a positive integer (the slots of its pool one task run takes), got ${String(slots)}`,
    )
  return { pool, poolSlots: slots }
}

/**
 * The delay before retry number `retry` (1 for the first retry): exponential, capped, with jitter.
 * `random` is injectable so tests can pin it.
 */
export function retryDelayMs(
  delay: ResolvedTaskOptions['retryDelay'],
  retry: number,
  random = Math.random,
): number {
  const base = Math.min(delay.maxMs, delay.initialMs * delay.factor ** Math.max(0, retry - 1))
  const spread = base * delay.jitter
  return Math.max(0, Math.round(base - spread + random() * 2 * spread))
}
