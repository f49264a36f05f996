import {
  cacheKeyOf,
  type PodSpecContext,
  type RunAssets,
  type TaskContext,
  type TaskDefinition,
} from '@podline/sdk'
import { TaskFailure } from '../engine/task-failure.js'
import { symbolicValue } from '../pods/symbolic-inputs.js'

/** The entry a task run with a cache reads and stores: its key and how long it serves. */
export interface TaskCacheKey {
  key: string
  ttlMs: number | null
}

/**
 * A task run's cache key, or undefined for a task without a cache: the task's `cache.key` of its
 * inputs and context, or the default hash of its inputs (as the task receives them, offloaded
 * values read back), the run's params as stored, and a pod's spec as rendered from them. The spec is
 * rendered with symbolic stored-input locations (as `podline plan` renders it): a presigned URL
 * differs at each attempt and would never hit. A key function that throws, or returns what cannot
 * be a key, fails the attempt without retries.
 */
export async function taskCacheKey(
  def: TaskDefinition,
  pipeline: string,
  inputs: Record<string, unknown>,
  params: unknown,
  ctx: TaskContext<unknown, RunAssets>,
): Promise<TaskCacheKey | undefined> {
  const cache = def.options.cache
  if (!cache) return undefined
  const identity = { pipeline, task: def.name, version: cache.version }
  try {
    if (def.cacheKey)
      return { key: cacheKeyOf({ ...identity, custom: def.cacheKey(inputs, ctx) }), ttlMs: cache.ttlMs }
    const spec =
      def.kind !== 'pod'
        ? undefined
        : typeof def.spec === 'function'
          ? await def.spec(inputs, {
              ...ctx,
              inputUrl: async (task) => symbolicValue(`inputUrl(${task})`),
            } as PodSpecContext<unknown, string, RunAssets>)
          : def.spec
    return { key: cacheKeyOf({ ...identity, inputs, params, spec: spec ?? null }), ttlMs: cache.ttlMs }
  } catch (error) {
    throw new TaskFailure(
      `the cache key of task "${def.name}" could not be made: ${error instanceof Error ? error.message : String(error)}`,
      'fatal',
    )
  }
}
