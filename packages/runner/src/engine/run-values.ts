import {
  type AnyPipeline,
  concurrencyKeyOf,
  type PipelinePlan,
  type TaskDefinition,
  type TaskValues,
  taskValuesFromInputs,
  taskValuesOf,
  validateWith,
} from '@podline/sdk'

/** What a run's code computes from its params before the run can start. */
export interface RunValues {
  /** The pipeline's concurrency key; absent when it has none. */
  concurrencyKey?: string
  /** Each task's concurrency key and computed priority; absent when no task computes one. */
  taskValues?: TaskValues[]
}

/** Whether a pipeline's runs need values from its code (a concurrency key, a task's key or priority). */
export function needsRunValues(p: AnyPipeline): boolean {
  return p.concurrency !== undefined || p.tasks.some((t) => t.computed)
}

/**
 * The values a run's code computes from its params after the pipeline's schema (the functions are
 * typed by the schema's output). Throws when the params fail the schema or a function fails: the
 * message names the pipeline, the task and the fix.
 */
export async function computeRunValues(p: AnyPipeline, params: unknown): Promise<RunValues> {
  if (!needsRunValues(p)) return {}
  const parsed = await parsedParams(p, params)
  const values: RunValues = {}
  if (p.concurrency) values.concurrencyKey = concurrencyKeyOf(p.name, p.concurrency, parsed)
  const tasks = taskValuesOf(p.name, p.tasks, parsed)
  if (tasks.length > 0) values.taskValues = tasks
  return values
}

/**
 * A task's key and priority from its inputs (as the task receives them), for a task whose functions
 * read them (TaskValues.fromInputs). Throws when the params fail the schema or a function fails.
 */
export async function computeInputValues(
  p: AnyPipeline,
  task: TaskDefinition,
  params: unknown,
  inputs: Record<string, unknown>,
): Promise<TaskValues> {
  if (!task.computed) return { task: task.name }
  return taskValuesFromInputs(
    p.name,
    { name: task.name, computed: task.computed },
    await parsedParams(p, params),
    inputs,
  )
}

/** A run's params as its functions receive them: through the pipeline's schema, when it has one. */
function parsedParams(p: AnyPipeline, params: unknown): Promise<unknown> {
  const given = params ?? {}
  return p.paramsSchema
    ? validateWith(p.paramsSchema, given, `params of pipeline "${p.name}"`)
    : Promise.resolve(given)
}

/** Whether some task of the plan computes values from the params (a concurrency key, a priority). */
export function computesTaskValues(plan: PipelinePlan): boolean {
  return plan.tasks.some((t) => t.options.concurrency !== undefined || t.options.priorityFromParams === true)
}

/**
 * Whether a pipeline's runs may wait to start (their roots pending until admit-runs.ts starts them):
 * maxActiveRuns, a concurrency key, or task values that a run created without the code still lacks.
 */
export function isLimited(plan: PipelinePlan): boolean {
  return plan.maxActiveRuns !== undefined || plan.concurrency !== undefined || computesTaskValues(plan)
}

/** Whether some task of the plan has a concurrency key (queue/admit-tasks.ts admits its task runs). */
export function hasKeyedTasks(plan: PipelinePlan): boolean {
  return plan.tasks.some((t) => t.options.concurrency !== undefined)
}
