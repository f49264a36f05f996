import type { PodSpec, PodTaskDefinition, TaskContext } from '@podline/sdk'
import { TaskFailure } from '../executors/task-execution.js'

/**
 * The task's PodSpec for these inputs: the object itself, or what the (possibly async) spec function
 * returns. Runs on the worker, so a dynamic spec sees the typed outputs of the tasks it needs.
 */
export async function evaluatePodSpec(
  def: PodTaskDefinition,
  inputs: Record<string, unknown>,
  ctx: TaskContext<unknown>,
  item?: unknown,
): Promise<PodSpec> {
  let spec: unknown
  try {
    spec = typeof def.spec === 'function' ? await def.spec(inputs, ctx, item) : def.spec
  } catch (error) {
    throw new TaskFailure(
      `the pod spec function of task "${def.name}" threw: ${error instanceof Error ? error.message : String(error)}`,
      'task',
      { cause: error },
    )
  }
  if (
    typeof spec !== 'object' ||
    spec === null ||
    typeof (spec as PodSpec).image !== 'string' ||
    !(spec as PodSpec).image
  ) {
    throw new TaskFailure(
      `the pod spec of task "${def.name}" has no image: return an object such as { image: 'alpine:3.20', command: [...] }`,
      'fatal',
    )
  }
  return spec as PodSpec
}
