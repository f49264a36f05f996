/**
 * A pipeline's concurrency key: runs whose params give the same key wait for each other (oldest
 * first), at most `limit` of them running at once; runs with different keys do not wait. Hatchet's
 * and Inngest's concurrency keys, Argo's semaphores keyed by a parameter.
 * @example
 * pipeline('sync-customer', {
 *   params: z.object({ customer: z.string() }),
 *   concurrency: { key: ({ params }) => params.customer, limit: 1 },
 * })
 */
export interface ConcurrencyOptions<Params> {
  /** The key of a run, from its params (after the schema): a string of 1 to MAX_CONCURRENCY_KEY_LENGTH characters. */
  key: (run: { params: Params }) => string
  /** How many runs with one key may run at once. Default: 1. */
  limit?: number
}

/** What a pipeline keeps of its concurrency option; the plan stores only the limit (the key is code). */
export interface ResolvedConcurrency {
  key: (run: { params: unknown }) => string
  limit: number
}

/** A key is stored with the run and shown by `podline status`; a longer one is a mistake (a whole document?). */
export const MAX_CONCURRENCY_KEY_LENGTH = 200

/** Why the option as written cannot work, or undefined when it can (the builder says it with the pipeline's name). */
export function concurrencyProblem(options: { key?: unknown; limit?: unknown }): string | undefined {
  if (typeof options !== 'object' || options === null || typeof options.key !== 'function')
    return 'concurrency needs a key function, e.g. concurrency: { key: ({ params }) => params.customer, limit: 1 }'
  const limit = options.limit ?? 1
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)
    return `concurrency.limit must be a positive integer, got ${String(limit)}; leave it out for 1`
  return undefined
}

/**
 * The key of one run: what the key function returned, checked. Throws an Error that names the
 * pipeline and what was wrong; the run it was for cannot start.
 */
export function concurrencyKeyOf(
  pipeline: string,
  concurrency: Pick<ResolvedConcurrency, 'key'>,
  params: unknown,
  /** For a task's key: the task. */
  task?: string,
): string {
  const whose = task === undefined ? `pipeline "${pipeline}"` : `task "${task}" of pipeline "${pipeline}"`
  let key: unknown
  try {
    key = concurrency.key({ params })
  } catch (error) {
    if (error instanceof InputsNotYetKnown) throw error
    throw new Error(
      `the concurrency key of ${whose} threw: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_CONCURRENCY_KEY_LENGTH)
    throw new Error(
      `the concurrency key of ${whose} must be a string of 1 to ${MAX_CONCURRENCY_KEY_LENGTH} characters, ` +
        `got ${typeof key === 'string' ? `a string of ${key.length}` : typeof key}; return a short identifier such as params.customer`,
    )
  return key
}

/**
 * A task's concurrency key (Hatchet's and Inngest's, per task): a function of the run's params and of
 * the task's inputs, both typed. A key that reads only the params is computed when the run is
 * created; one that reads the inputs, once the task's upstream tasks have ended.
 */
export interface TaskConcurrencyOptions<Params, Inputs = Record<string, unknown>> {
  /** The key of a task run: a string of 1 to MAX_CONCURRENCY_KEY_LENGTH characters. */
  key: (task: { params: Params; inputs: Inputs }) => string
  /** How many task runs with one key may run at once. Default: 1. */
  limit?: number
}

/** What a task computes from its run's params and its inputs: its key, its priority. */
export interface TaskComputed {
  concurrencyKey?: (task: { params: unknown; inputs: unknown }) => string
  priority?: (task: { params: unknown; inputs: unknown }) => number
}

/** A task's key and priority functions, or nothing when it has neither (its definition stays as it was). */
export function taskComputedOf(options: { concurrency?: { key?: unknown }; priority?: unknown }): {
  computed?: TaskComputed
} {
  const computed: TaskComputed = {}
  if (typeof options.concurrency?.key === 'function')
    computed.concurrencyKey = options.concurrency.key as TaskComputed['concurrencyKey']
  if (typeof options.priority === 'function') computed.priority = options.priority as TaskComputed['priority']
  return Object.keys(computed).length > 0 ? { computed: Object.freeze(computed) } : {}
}

/** One task's values for one run: what `taskValuesOf` computed. */
export interface TaskValues {
  task: string
  concurrencyKey?: string
  priority?: number
  /**
   * The key or the priority reads the task's inputs, which do not exist yet when the run is created:
   * both are computed by `taskValuesFromInputs` once the upstream tasks have ended.
   */
  fromInputs?: true
}

/** Thrown by NOT_YET_KNOWN's traps: a function read the inputs of a task whose upstreams have not run. */
class InputsNotYetKnown extends Error {}

/**
 * What a task's functions see as `inputs` when the run is created: reading any of it stops the
 * function, which tells that its values must wait for the inputs. Why a proxy rather than an
 * option saying so: the function already says which it reads, and a second statement of it could
 * disagree with the first.
 */
const NOT_YET_KNOWN: object = new Proxy(
  {},
  Object.fromEntries(
    (['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor'] as const).map((trap) => [
      trap,
      () => {
        throw new InputsNotYetKnown()
      },
    ]),
  ),
)

/**
 * One task's key and priority from its run's params (after the schema) and its inputs. Throws an
 * Error naming the pipeline, the task and what was wrong, or InputsNotYetKnown.
 */
function valuesOfTask(
  pipeline: string,
  t: { name: string; computed: TaskComputed },
  params: unknown,
  inputs: unknown,
): TaskValues {
  const v: TaskValues = { task: t.name }
  const keyFn = t.computed.concurrencyKey
  if (keyFn)
    v.concurrencyKey = concurrencyKeyOf(pipeline, { key: () => keyFn({ params, inputs }) }, params, t.name)
  if (t.computed.priority) {
    let priority: unknown
    try {
      priority = t.computed.priority({ params, inputs })
    } catch (error) {
      if (error instanceof InputsNotYetKnown) throw error
      throw new Error(
        `the priority of task "${t.name}" of pipeline "${pipeline}" threw: ${error instanceof Error ? error.message : String(error)}`,
      )
    }
    if (typeof priority !== 'number' || !Number.isInteger(priority) || Math.abs(priority) > MAX_PRIORITY)
      throw new Error(
        `the priority of task "${t.name}" of pipeline "${pipeline}" must be an integer between -${MAX_PRIORITY} and ${MAX_PRIORITY}, got ${String(priority)}`,
      )
    v.priority = priority
  }
  return v
}

/**
 * The computed key and priority of each task that has them, from the run's params (after the
 * schema), when the run is created. A task whose functions read its inputs is marked `fromInputs`
 * (a task with no upstreams has empty inputs, known now). Throws an Error naming the pipeline, the
 * task and what was wrong; the run cannot start.
 */
export function taskValuesOf(
  pipeline: string,
  tasks: ReadonlyArray<{ name: string; needs: readonly string[]; computed?: TaskComputed }>,
  params: unknown,
): TaskValues[] {
  const values: TaskValues[] = []
  for (const t of tasks) {
    if (!t.computed) continue
    const inputs = t.needs.length === 0 ? {} : NOT_YET_KNOWN
    try {
      values.push(valuesOfTask(pipeline, { name: t.name, computed: t.computed }, params, inputs))
    } catch (error) {
      if (!(error instanceof InputsNotYetKnown)) throw error
      values.push({ task: t.name, fromInputs: true })
    }
  }
  return values
}

/**
 * A task's key and priority from its inputs, once its upstream tasks have ended (`inputs` as the
 * task receives them). Throws an Error naming the pipeline, the task and what was wrong.
 */
export function taskValuesFromInputs(
  pipeline: string,
  t: { name: string; computed: TaskComputed },
  params: unknown,
  inputs: Record<string, unknown>,
): TaskValues {
  return valuesOfTask(pipeline, t, params, inputs)
}

/** A computed priority is stored as a PostgreSQL integer: beyond this it is a mistake, not an order. */
export const MAX_PRIORITY = 1_000_000
