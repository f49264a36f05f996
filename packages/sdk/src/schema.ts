import type { StandardSchemaV1 } from '@standard-schema/spec'
import { findNotJson, type JsonValue } from './json.js'

export type { StandardSchemaV1 }
export type AnySchema = StandardSchemaV1<unknown, unknown>
export type SchemaInput<S> = S extends StandardSchemaV1<infer I, unknown> ? I : never
export type SchemaOutput<S> = S extends StandardSchemaV1<unknown, infer O> ? O : never

export class SchemaValidationError extends Error {
  override readonly name = 'SchemaValidationError'
  constructor(
    readonly what: string,
    readonly issues: readonly StandardSchemaV1.Issue[],
  ) {
    super(`${what} failed validation: ${formatIssues(issues)}`)
  }
}

export function formatIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  return issues
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((seg) => (typeof seg === 'object' && seg !== null ? seg.key : seg))
        .map(String)
        .join('.')
      return path ? `${path}: ${issue.message}` : issue.message
    })
    .join('; ')
}

/** Validates with any Standard Schema (zod, valibot, arktype, …) and returns its output or throws. */
export async function validateWith<S extends AnySchema>(
  schema: S,
  value: unknown,
  what: string,
): Promise<SchemaOutput<S>> {
  let result = schema['~standard'].validate(value)
  if (result instanceof Promise) result = await result
  if (result.issues) throw new SchemaValidationError(what, result.issues)
  return result.value as SchemaOutput<S>
}

/**
 * A schema that only checks that a value is JSON and types it as `T`: the way to give a pod task's
 * output type as a type parameter, `output: json<{ count: number }>()`, when no runtime schema is wanted.
 */
export function json<T extends JsonValue = JsonValue>(): StandardSchemaV1<T, T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'podline',
      validate(value) {
        const issue = findNotJson(value, 'value')
        return issue
          ? { issues: [{ message: `${issue.path} is ${issue.found}, not JSON` }] }
          : { value: value as T }
      },
    },
  }
}
