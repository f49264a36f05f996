// Pure-JS SHA-256 rather than node:crypto, so the SDK loads in a browser; plan() stays synchronous
// (WebCrypto's digest is async) and the hash is the same one node:crypto gave.
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import type { StandardJSONSchemaV1 } from '@standard-schema/spec'
import {
  type PlanDeadline,
  type RunCallbackEvent,
  type TaskCallbackEvent,
  taskCallbackEvents,
} from './callbacks.js'
import type { PodRunOptions } from './pod-spec.js'
import type { PlanSchedule } from './schedule.js'
import type { AnySchema } from './schema.js'
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
  /** The assets whose events create runs: `any` for one asset (one run per event); absent: none. */
  on?: { mode: 'all' | 'any'; assets: string[] }
  /**
   * Every asset the pipeline declares (`on`, `produces`), with its value's JSON Schema: registration
   * refuses a name another pipeline declares with another schema; `podline assets emit` checks with it.
   */
  assets?: Record<string, { schemaHash: string; jsonSchema: Record<string, unknown> }>
  tasks: PlanTask[]
}

export interface PlanTask {
  name: string
  kind: 'task' | 'pod' | 'wait'
  needs: string[]
  options: ResolvedTaskOptions
  /** Mapped tasks only: one task run per item; `maxParallel` null is no bound. */
  map?: { maxParallel: number | null }
  /** The events the task has callbacks for (its onFailure, onSuccess, onRetry); absent: none. */
  callbacks?: TaskCallbackEvent[]
  /** The assets its success records an event of; absent: none. */
  produces?: string[]
  /** Pod tasks only. */
  pod?: { hasOutput: boolean; spec: 'static' | 'dynamic'; run: PodRunOptions }
  /**
   * Waits only: the signal's JSON Schema (what `podline signal` and the API check a payload with,
   * having no pipeline code), or a sleep's length.
   */
  wait?: { signalJsonSchema?: Record<string, unknown>; sleepMs?: number }
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
    on?: PipelinePlan['on'] | undefined
    assets?: PipelinePlan['assets'] | undefined
  } = {},
): PipelinePlan {
  const { schedule, maxActiveRuns, concurrency, deadline, on, assets } = run
  const callbacks = run.callbacks?.length ? run.callbacks : undefined
  const planTasks: PlanTask[] = tasks.map((t) => ({
    name: t.name,
    kind: t.kind,
    needs: [...t.needs],
    options: t.options,
    ...(t.map ? { map: { maxParallel: t.map.maxParallel ?? null } } : {}),
    ...(t.callbacks ? { callbacks: taskCallbackEvents(t.callbacks) } : {}),
    ...(t.produces ? { produces: t.produces.map((a) => a.name) } : {}),
    ...(t.kind === 'wait'
      ? {
          wait: {
            ...(t.signal ? { signalJsonSchema: signalJsonSchema(t.name, t.signal) } : {}),
            ...(t.sleepMs !== undefined ? { sleepMs: t.sleepMs } : {}),
          },
        }
      : {}),
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
          on,
          assets,
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
    ...(on ? { on } : {}),
    ...(assets ? { assets } : {}),
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

/**
 * A wait's signal schema as JSON Schema (draft 2020-12, of its input): the CLI and the API check
 * payloads with it. Checked when the pipeline is defined (`.wait`), so here it always converts.
 */
function signalJsonSchema(task: string, schema: AnySchema): Record<string, unknown> {
  const converted = jsonSchemaOf(schema)
  if ('problem' in converted) throw new TypeError(`wait "${task}": ${converted.problem}`)
  return converted.schema
}

/** A Standard Schema's JSON Schema, or why there is none. */
export function jsonSchemaOf(
  schema: AnySchema,
  /** Whose schema it is, for the messages: a wait's signal or an asset's value. */
  of: 'signal' | 'asset' = 'signal',
): { schema: Record<string, unknown> } | { problem: string } {
  const checker = of === 'signal' ? 'podline signal' : 'podline assets emit'
  const converter = (schema['~standard'] as { jsonSchema?: StandardJSONSchemaV1.Converter }).jsonSchema
  if (!converter)
    return {
      problem: `the ${of}'s schema library has no JSON Schema export (Standard JSON Schema); use zod 4, arktype or valibot with its converter`,
    }
  try {
    // The output too: a schema whose output JSON Schema cannot say (a transform) would hand the
    // downstream task the payload as sent while its type promises what the transform makes.
    converter.output({ target: 'draft-2020-12' })
    return { schema: converter.input({ target: 'draft-2020-12' }) }
  } catch (error) {
    return {
      problem: `the ${of}'s schema has no JSON Schema (${error instanceof Error ? error.message : String(error)}); a transform or a custom check cannot be checked by ${checker}`,
    }
  }
}
