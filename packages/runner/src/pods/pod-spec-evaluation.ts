import type { PodSpec, PodSpecContext, PodTaskDefinition, StoredInput } from '@podline/sdk'
import { TaskFailure } from '../engine/task-failure.js'
import type { TaskExecution } from '../executors/task-execution.js'
import { isReference } from '../store/xcom-row-value.js'

/**
 * The task's PodSpec for these inputs: the object itself, or what the (possibly async) spec function
 * returns. Runs on the worker, so a dynamic spec sees the typed outputs of the tasks it needs, and
 * `ctx.inputUrl` hands out where the pod can read a stored upstream value.
 */
export async function evaluatePodSpec(
  def: PodTaskDefinition,
  exec: Pick<TaskExecution, 'inputs' | 'ctx' | 'item' | 'xcoms' | 'storedInputs'>,
  runtime: 'kubernetes' | 'process',
): Promise<PodSpec> {
  let spec: unknown
  try {
    if (typeof def.spec === 'function') {
      const ctx: PodSpecContext<unknown> = {
        ...exec.ctx,
        inputUrl: (task, options) => storedInput(def, exec, runtime, task, options?.item),
      }
      spec = await def.spec(exec.inputs, ctx, exec.item)
    } else spec = def.spec
  } catch (error) {
    if (error instanceof TaskFailure) throw error
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

/** ctx.inputUrl: a short-lived location of an upstream's stored value, or undefined for one kept in its row. */
async function storedInput(
  def: PodTaskDefinition,
  exec: Pick<TaskExecution, 'inputs' | 'xcoms' | 'storedInputs'>,
  runtime: 'kubernetes' | 'process',
  task: string,
  item: number | undefined,
): Promise<StoredInput | undefined> {
  const call = `ctx.inputUrl(${JSON.stringify(task)}${item === undefined ? '' : `, { item: ${item} }`})`
  if (!def.needs.includes(task)) {
    throw new TypeError(
      `${call}: task "${def.name}" does not need "${task}"; it needs ${def.needs.map((n) => `"${n}"`).join(', ') || 'no task'}`,
    )
  }
  const stored = exec.storedInputs?.[task] ?? exec.inputs[task]
  let value = stored
  let what = `the output of task "${task}"`
  if (item !== undefined) {
    if (!Array.isArray(stored))
      throw new TypeError(`${call}: "${task}" is not a mapped task, so it has no items; drop { item }`)
    if (!Number.isInteger(item) || item < 0 || item >= stored.length)
      throw new RangeError(`${call}: "${task}" has ${stored.length} items, numbered from 0`)
    value = stored[item]
    what += `, item ${item}`
  } else if (Array.isArray(stored) && stored.some(isReference)) {
    throw new TypeError(
      `${call}: "${task}" is a mapped task, whose items are stored one by one: pass { item: i }`,
    )
  }
  if (!exec.xcoms) return undefined
  const target = await exec.xcoms.inputTarget(value, what)
  if (target?.kind === 'path' && runtime === 'kubernetes') {
    throw new TaskFailure(
      `${call}: ${what} is in the XCom store ${exec.xcoms.location}, a folder of the worker's, which a pod cannot reach; use an s3:// store`,
      'fatal',
    )
  }
  return target
}
