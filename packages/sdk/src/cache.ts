// Pure-JS SHA-256, as plan.ts: the SDK loads in a browser, and the key is computed synchronously.
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import type { TaskContext } from './context.js'
import { canonicalJson } from './plan.js'
import { type Duration, parseDuration } from './task-options.js'

/**
 * A task's cached results (Flyte's and Dagster's caching, Argo's memoization): a run whose task has
 * the same key as an earlier success within `ttl` takes that success's output instead of running the
 * task. By default the key hashes the task's inputs, the run's params, `version` and, for a pod
 * task, its spec as rendered from them.
 * @example
 * p.task('features', { needs: ['extract'], cache: { version: '2', ttl: '7d' } }, compute)
 * p.pod('score', { cache: { version: '1', key: ({ model }) => model.sha } }, spec)
 */
export interface CacheOptions<Inputs, Params> {
  /**
   * The cache key, from the inputs and the context, instead of the default hash: for inputs that
   * carry what does not change the result (a timestamp), or a result that depends on what the
   * inputs do not carry (a file's checksum). `version` and the task are still part of the key.
   */
  key?: (inputs: Inputs, ctx: TaskContext<Params>) => string
  /** Bump it when the task's code changes its result: entries of another version never match. */
  version: string
  /** How long an entry serves, from the success that stored it. Default: no end. */
  ttl?: Duration
}

/** What a plan stores of a task's cache (the key function stays with the code). */
export interface PlanCache {
  version: string
  /** Milliseconds an entry serves; null: no end. */
  ttlMs: number | null
  /** Whether the key comes from the task's `key` function (else the default hash). */
  customKey: boolean
}

/** An entry's key at most: the default is a 64-character hash. */
export const MAX_CACHE_KEY_LENGTH = 500

/** Why the option as written cannot work, or undefined when it can. */
export function resolveCache(task: string, cache: unknown): PlanCache {
  const example = `e.g. cache: { version: '1', ttl: '7d' }`
  if (typeof cache !== 'object' || cache === null)
    throw new TypeError(`task "${task}": cache must be an object, ${example}`)
  const { version, ttl, key } = cache as { version?: unknown; ttl?: unknown; key?: unknown }
  if (typeof version !== 'string' || version.length === 0)
    throw new TypeError(
      `task "${task}": cache.version must be a non-empty string (bump it when the task's code changes its result), ${example}`,
    )
  if (key !== undefined && typeof key !== 'function')
    throw new TypeError(
      `task "${task}": cache.key must be a function of the inputs and the context that returns a string`,
    )
  const ttlMs = ttl === undefined ? null : parseDuration(ttl as Duration, `task "${task}": cache.ttl`)
  if (ttlMs !== null && ttlMs <= 0)
    throw new TypeError(`task "${task}": cache.ttl must be more than 0, e.g. '7d'`)
  return { version, ttlMs, customKey: key !== undefined }
}

/**
 * The key an entry is stored and found under: a hash of the task's identity, the cache's version
 * and either the custom key or the default parts (inputs, params, a pod's rendered spec), as
 * canonical JSON, so that key order in an object never changes it.
 */
export function cacheKeyOf(parts: {
  pipeline: string
  task: string
  version: string
  custom?: string | undefined
  inputs?: unknown
  params?: unknown
  spec?: unknown
}): string {
  const { custom } = parts
  if (
    custom !== undefined &&
    (typeof custom !== 'string' || custom.length === 0 || custom.length > MAX_CACHE_KEY_LENGTH)
  )
    throw new Error(
      `the cache key of task "${parts.task}" of pipeline "${parts.pipeline}" must be a string of 1 to ${MAX_CACHE_KEY_LENGTH} characters, got ${typeof custom === 'string' ? `${custom.length} characters` : typeof custom}`,
    )
  const identity = { pipeline: parts.pipeline, task: parts.task, version: parts.version }
  const material =
    custom !== undefined
      ? canonicalJson({ ...identity, custom })
      : canonicalJson({
          ...identity,
          inputs: parts.inputs ?? null,
          params: parts.params ?? null,
          spec: parts.spec ?? null,
        })
  return bytesToHex(sha256(utf8ToBytes(material)))
}
