import { inspect } from 'node:util'

/**
 * What a thrown value says, for an error message: an Error's own message, anything else as JSON
 * (`throw { code: 42 }` reads `{"code":42}`, not `[object Object]`), and util.inspect where JSON
 * cannot (cycles, BigInt, functions).
 */
export function describeThrown(value: unknown): string {
  if (value instanceof Error) return `${value.name === 'Error' ? '' : `${value.name}: `}${value.message}`
  if (typeof value === 'string') return value
  try {
    const json = JSON.stringify(value)
    if (json !== undefined) return json
  } catch {
    // A cycle or a BigInt: inspect below renders both.
  }
  return inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY })
}

/** A thrown value as an Error, for code that needs one (a non-Error keeps its readable form as the message). */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value
  const error = new Error(describeThrown(value), { cause: value })
  // Its frames would be the runner's, not where the value was thrown (a non-Error carries none).
  error.stack = undefined
  return error
}
