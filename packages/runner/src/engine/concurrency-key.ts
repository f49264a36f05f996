import { type AnyPipeline, concurrencyKeyOf, validateWith } from '@podline/sdk'

/**
 * A run's concurrency key, from its params after the pipeline's schema (the key function is typed
 * by the schema's output); undefined when the pipeline has no key. Throws when the params fail the
 * schema or the key function fails: the message names the pipeline and the fix.
 */
export async function runConcurrencyKey(p: AnyPipeline, params: unknown): Promise<string | undefined> {
  if (!p.concurrency) return undefined
  const given = params ?? {}
  const parsed = p.paramsSchema
    ? await validateWith(p.paramsSchema, given, `params of pipeline "${p.name}"`)
    : given
  return concurrencyKeyOf(p.name, p.concurrency, parsed)
}
