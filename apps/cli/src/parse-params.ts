import type { JsonValue } from '@podline/sdk'
import { UsageError } from './usage-error.js'

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
  return value as JsonValue
}
