import type { JsonValue } from '@podline/sdk'
import { UsageError } from './usage-error.js'

/**
 * How deeply --params may nest. Params are configuration, never this deep; past a few thousand
 * levels the checks that follow (the JSON check, the schema library, jsonb) recurse until the
 * stack overflows, so a deep value is refused here, by a loop, with a message instead of a crash.
 */
export const MAX_PARAMS_DEPTH = 100

/** The value of --params: a JSON object (absent means `{}`). Checked before anything is opened or stored. */
export function parseParams(text: string | undefined): JsonValue {
  if (text === undefined) return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new UsageError(
      `--params is not valid JSON (${(error as Error).message}): got ${JSON.stringify(text)}. Pass one JSON object, quoted for the shell, e.g. --params '{"date":"2026-11-21"}'. Nothing was run.`,
    )
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(
      `--params must be a JSON object, e.g. --params '{"date":"2026-11-21"}'; got ${text}. Nothing was run.`,
    )
  }
  if (nestsDeeperThan(value, MAX_PARAMS_DEPTH)) {
    throw new UsageError(
      `--params nests more than ${MAX_PARAMS_DEPTH} levels deep; at most ${MAX_PARAMS_DEPTH} are allowed. Pass flatter params (a deep structure can be a JSON string inside them). Nothing was run.`,
    )
  }
  return value as JsonValue
}

/** Whether parsed JSON nests deeper than `limit` (each object or array is a level), without recursion. */
function nestsDeeperThan(root: object, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]]
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [value, depth] = item
    if (value === null || typeof value !== 'object') continue
    if (depth > limit) return true
    for (const child of Object.values(value)) stack.push([child, depth + 1])
  }
  return false
}

/**
 * The value of a verb's --json flag (a signal's payload, an asset event's value): any JSON, required,
 * parsed before anything is opened. `example` is the verb as the user would type it; `unchanged`
 * says what did not happen.
 */
export function parseJsonFlag(
  text: string | undefined,
  o: { what: string; example: string; unchanged: string },
): unknown {
  if (text === undefined) throw new UsageError(`give the ${o.what} with --json, e.g. ${o.example}.`)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new UsageError(
      `--json is not valid JSON (${(error as Error).message}): got ${JSON.stringify(text)}. Quote it for the shell. ${o.unchanged}`,
    )
  }
}
