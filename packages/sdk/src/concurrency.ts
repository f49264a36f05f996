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
  concurrency: ResolvedConcurrency,
  params: unknown,
): string {
  let key: unknown
  try {
    key = concurrency.key({ params })
  } catch (error) {
    throw new Error(
      `the concurrency key of pipeline "${pipeline}" threw: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_CONCURRENCY_KEY_LENGTH)
    throw new Error(
      `the concurrency key of pipeline "${pipeline}" must be a string of 1 to ${MAX_CONCURRENCY_KEY_LENGTH} characters, ` +
        `got ${typeof key === 'string' ? `a string of ${key.length}` : typeof key}; return a short identifier such as params.customer`,
    )
  return key
}
