/** One problem of a value against a JSON Schema: where (dotted path), its top-level key, and what. */
export interface JsonSchemaIssue {
  /** Dotted path of the value's part that fails ('' for the whole). */
  path: string
  /** The top-level property it concerns (a missing required one is named), '' for the whole. */
  param: string
  message: string
}

type Validate = ((value: unknown) => boolean) & {
  errors?: Array<{ instancePath: string; message?: string; params: Record<string, unknown> }> | null
}

/** Compiled schemas by their text, the oldest dropped past MAX_COMPILED. */
const compiled = new Map<string, Validate>()
const MAX_COMPILED = 100

/**
 * Checks a value against a JSON Schema (draft 2020-12) the way code without the pipeline does:
 * `podline trigger` its params, `podline signal` a wait's payload. Ajv, loaded only when needed.
 */
export async function jsonSchemaIssues(
  schema: Record<string, unknown>,
  value: unknown,
  /** Fill in the schema's defaults, in place (a signal's payload: its schema's output has them). */
  options: { useDefaults?: boolean } = {},
): Promise<JsonSchemaIssue[]> {
  const useDefaults = options.useDefaults ?? false
  const key = `${useDefaults}\0${JSON.stringify(schema)}`
  let validate = compiled.get(key)
  if (!validate) {
    const { Ajv2020 } = await import('ajv/dist/2020.js')
    validate = new Ajv2020({ allErrors: true, strict: false, useDefaults }).compile(schema)
    // Compiling costs milliseconds, a check microseconds: a process checks the same few schemas again and again.
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string)
    compiled.set(key, validate)
  }
  if (validate(value)) return []
  return (validate.errors ?? []).map((e) => ({
    path: e.instancePath.slice(1).replaceAll('/', '.'),
    param:
      e.instancePath.split('/')[1] ??
      (typeof e.params.missingProperty === 'string' ? e.params.missingProperty : ''),
    message: e.message ?? 'is not valid',
  }))
}
