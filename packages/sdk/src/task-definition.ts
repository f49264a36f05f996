import type { AnyAsset, RunAssets } from './asset.js'
import type { ResolvedTaskCallbacks } from './callbacks.js'
import type { TaskComputed } from './concurrency.js'
import type { PodSpecContext, TaskContext } from './context.js'
import type { PodRunOptions, PodSpec } from './pod-spec.js'
import type { AnySchema } from './schema.js'
import type { ResolvedTaskOptions } from './task-options.js'

/** The untyped, runtime view of a task that the runner executes. Types live on the builder. */
export type TaskDefinition = InlineTaskDefinition | PodTaskDefinition | WaitTaskDefinition

interface TaskDefinitionBase {
  readonly name: string
  readonly needs: readonly string[]
  readonly options: ResolvedTaskOptions
  /** Its concurrency key and priority functions of the params; absent when it has neither. */
  readonly computed?: TaskComputed
  /** The task's onFailure / onSuccess / onRetry; absent when it has none (never on a wait). */
  readonly callbacks?: ResolvedTaskCallbacks
  /** Present on a mapped task (`.map`, `.mapPod`): one task run per item `over` returns. */
  readonly map?: MapDefinition
  /** Its cache's key function (`cache.key`); absent without a cache or with the default key. */
  readonly cacheKey?: (inputs: Record<string, unknown>, ctx: TaskContext<unknown>) => string
  /** The assets its success updates with its output; absent when it produces none. */
  readonly produces?: readonly AnyAsset[]
}

/** How a mapped task fans out. */
export interface MapDefinition {
  /** The items, from the task's inputs: each becomes a task run of its own. */
  readonly over: (inputs: Record<string, unknown>) => unknown
  /** Items running at once; undefined: no bound. */
  readonly maxParallel: number | undefined
}

export interface InlineTaskDefinition extends TaskDefinitionBase {
  readonly kind: 'task'
  /** `item` is the element of a mapped task's items this task run stands for; undefined otherwise. */
  readonly run: (
    inputs: Record<string, unknown>,
    ctx: TaskContext<unknown, RunAssets>,
    item?: unknown,
  ) => unknown
}

export interface PodTaskDefinition extends TaskDefinitionBase {
  readonly kind: 'pod'
  readonly spec:
    | PodSpec
    | ((
        inputs: Record<string, unknown>,
        ctx: PodSpecContext<unknown, string, RunAssets>,
        item?: unknown,
      ) => PodSpec)
  /** Validates what the pod wrote; absent when no output is declared (the value is then any JSON). */
  readonly output: AnySchema | undefined
  readonly pod: PodRunOptions
}

/**
 * A step that waits, holding no worker: for a signal (`podline signal`, the UI, the JSON API) whose
 * payload becomes its output, or for a time (`sleep`). Its task run is never claimed.
 */
export interface WaitTaskDefinition extends TaskDefinitionBase {
  readonly kind: 'wait'
  /** The payload's schema; undefined for a sleep. */
  readonly signal: AnySchema | undefined
  /** A sleep's length; undefined for a signal. */
  readonly sleepMs: number | undefined
}
