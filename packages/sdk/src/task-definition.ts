import type { TaskContext } from './context.js'
import type { PodRunOptions, PodSpec } from './pod-spec.js'
import type { AnySchema } from './schema.js'
import type { ResolvedTaskOptions } from './task-options.js'

/** The untyped, runtime view of a task that the runner executes. Types live on the builder. */
export type TaskDefinition = InlineTaskDefinition | PodTaskDefinition

interface TaskDefinitionBase {
  readonly name: string
  readonly needs: readonly string[]
  readonly options: ResolvedTaskOptions
}

export interface InlineTaskDefinition extends TaskDefinitionBase {
  readonly kind: 'task'
  readonly run: (inputs: Record<string, unknown>, ctx: TaskContext<unknown>) => unknown
}

export interface PodTaskDefinition extends TaskDefinitionBase {
  readonly kind: 'pod'
  readonly spec: PodSpec | ((inputs: Record<string, unknown>, ctx: TaskContext<unknown>) => PodSpec)
  /** Validates what the pod wrote; absent when no output is declared (the value is then any JSON). */
  readonly output: AnySchema | undefined
  readonly pod: PodRunOptions
}
