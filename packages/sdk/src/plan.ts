// Pure-JS SHA-256 rather than node:crypto, so the SDK loads in a browser; plan() stays synchronous
// (WebCrypto's digest is async) and the hash is the same one node:crypto gave.
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import type { PlanDeadline, RunCallbackEvent } from './callbacks.js'
import type { PodRunOptions } from './pod-spec.js'
import type { PlanSchedule } from './schedule.js'
import type { TaskDefinition } from './task-definition.js'
import type { ResolvedTaskOptions } from './task-options.js'

/** A pipeline's structure as JSON: what the runner stores, compares and shows. */
export interface PipelinePlan {
  name: string
  /** A hash of the structure below (and of the pipeline's `version` option), stable across processes. */
  version: string
  hasParams: boolean
  /**
   * The JSON Schema of the params' input, when the params schema can produce one (Standard JSON
   * Schema: zod 4, arktype, valibot with its converter). `podline trigger` checks params with it,
   * since it has no pipeline code to run the schema itself.
   */
  paramsJsonSchema?: Record<string, unknown>
  /** Part of the version: a schedule change takes effect when a worker serving the new version registers it. */
  schedule?: PlanSchedule
  /** Runs of the pipeline running at once; absent: no limit. */
  maxActiveRuns?: number
  /** Keyed runs: at most `limit` runs with one key run at once (the key is computed by code, see ConcurrencyOptions). */
  concurrency?: { limit: number }
  /** The run events the pipeline has callbacks for (`onFailure`, `onSuccess`); absent: none. */
  callbacks?: RunCallbackEvent[]
  /** When a run must have finished; absent: never late. */
  deadline?: PlanDeadline
  tasks: PlanTask[]
}

export interface PlanTask {
  name: string
  kind: 'task' | 'pod'
  needs: string[]
  options: ResolvedTaskOptions
  /** Mapped tasks only: one task run per item; `maxParallel` null is no bound. */
  map?: { maxParallel: number | null }
  /** Pod tasks only. */
  pod?: { hasOutput: boolean; spec: 'static' | 'dynamic'; run: PodRunOptions }
}

export function buildPlan(
  name: string,
  tasks: readonly TaskDefinition[],
  hasParams: boolean,
  userVersion?: string,
  paramsJsonSchema?: Record<string, unknown>,
  run: {
    schedule?: PlanSchedule | undefined
    maxActiveRuns?: number | undefined
    concurrency?: { limit: number } | undefined
    callbacks?: RunCallbackEvent[] | undefined
    deadline?: PlanDeadline | undefined
  } = {},
): PipelinePlan {
  const { schedule, maxActiveRuns, concurrency, deadline } = run
  const callbacks = run.callbacks?.length ? run.callbacks : undefined
  const planTasks: PlanTask[] = tasks.map((t) => ({
    name: t.name,
    kind: t.kind,
    needs: [...t.needs],
    options: t.options,
    ...(t.map ? { map: { maxParallel: t.map.maxParallel ?? null } } : {}),
    ...(t.kind === 'pod'
      ? {
          pod: {
            hasOutput: t.output !== undefined,
            spec: typeof t.spec === 'function' ? 'dynamic' : 'static',
            run: t.pod,
          },
        }
      : {}),
  }))
  const hash = bytesToHex(
    sha256(
      utf8ToBytes(
        canonicalJson({
          name,
          hasParams,
          paramsJsonSchema,
          userVersion: userVersion ?? null,
          schedule,
          maxActiveRuns,
          concurrency,
          callbacks,
          deadline,
          tasks: planTasks,
        }),
      ),
    ),
  )
  return {
    name,
    version: hash.slice(0, 16),
    hasParams,
    ...(paramsJsonSchema ? { paramsJsonSchema } : {}),
    ...(schedule ? { schedule } : {}),
    ...(maxActiveRuns ? { maxActiveRuns } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(callbacks ? { callbacks } : {}),
    ...(deadline ? { deadline } : {}),
    tasks: planTasks,
  }
}

/** JSON with object keys sorted, so the hash does not depend on the order options were written in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
