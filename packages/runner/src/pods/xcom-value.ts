import {
  type AnySchema,
  findNotJson,
  type JsonValue,
  SchemaValidationError,
  validateWith,
} from '@podline/sdk'
import { TaskFailure } from '../engine/task-failure.js'
import { xcomTooLargeMessage } from '../xcom-store/xcom-limit.js'

export { DEFAULT_XCOM_SIZE_LIMIT_BYTES } from '../xcom-store/xcom-limit.js'

export interface ResultChecks {
  /** The task's name, for messages. */
  readonly task: string
  /** The task's `output` schema, when it declared one. */
  readonly output: AnySchema | undefined
  readonly sizeLimitBytes: number
  /** The XCom store's location, when one is configured. */
  readonly store?: string | undefined
  /** Why a result over the limit could not go to the XCom store instead, when a store is configured. */
  readonly overLimitHint?: string | undefined
}

/**
 * Turns the bytes of a result file into the task's output. Shared by the sidecar frame path and the
 * process runtime, so both fail the same way with the same words. `undefined` (no file) and an empty
 * (or blank) file mean the task returned nothing: that is checked against the output schema like any
 * value, so a required output fails here, with the schema's words, instead of in a downstream task.
 */
export async function decodeResult(
  bytes: Buffer | undefined,
  checks: ResultChecks,
): Promise<JsonValue | undefined> {
  return (await decodeResultAsWritten(bytes, checks)).value
}

/** decodeResult's value, and the value as the container wrote it (before the output schema). */
export async function decodeResultAsWritten(
  bytes: Buffer | undefined,
  checks: ResultChecks,
): Promise<{ value: JsonValue | undefined; written: JsonValue | undefined }> {
  if (bytes === undefined)
    return { value: await absentResult(checks, 'wrote no result file'), written: undefined }
  assertWithinLimit(bytes.length, checks)
  // A BOM (what some editors and PowerShell's Out-File write first, and JSON.parse refuses) is
  // dropped by the decoder.
  const text = decodeUtf8(bytes, checks.task)
  if (text.trim() === '')
    return { value: await absentResult(checks, 'wrote an empty result file'), written: undefined }
  assertNestingWithin(text, checks.task)
  const value = parseJson(text, checks.task)
  if (checks.output === undefined) return { value, written: value }
  const validated = await checkAgainstSchema(
    checks,
    value,
    `The container wrote ${preview(text)}; make it write what the task's output schema describes, or change the schema`,
  )
  const notJson = findNotJson(validated, 'output')
  if (notJson) {
    throw new TaskFailure(
      `the output schema of pod task "${checks.task}" turned the result into something that is not JSON (${notJson.path} is ${notJson.found}); drop the transform from the schema`,
      'fatal',
    )
  }
  return { value: validated as JsonValue, written: value }
}

/** No value: fine without a schema or with one that accepts undefined; otherwise the schema's failure. */
async function absentResult(checks: ResultChecks, what: string): Promise<JsonValue | undefined> {
  if (checks.output === undefined) return undefined
  const value = await checkAgainstSchema(
    checks,
    undefined,
    `The container ${what}; write the value as JSON to $PODLINE_XCOM_PATH, or make the output schema accept no value`,
  )
  return value as JsonValue | undefined
}

async function checkAgainstSchema(checks: ResultChecks, value: unknown, fix: string): Promise<unknown> {
  if (checks.output === undefined) return value
  try {
    return await validateWith(checks.output, value, `the result of pod task "${checks.task}"`)
  } catch (error) {
    if (!(error instanceof SchemaValidationError)) throw error
    throw new TaskFailure(`${error.message}. ${fix}`, 'fatal', {
      cause: error,
    })
  }
}

/** Throws the size error; also used on a frame's declared length, before anything is decoded. */
export function assertWithinLimit(size: number, checks: ResultChecks): void {
  if (size <= checks.sizeLimitBytes) return
  const message = xcomTooLargeMessage(
    `the result of pod task "${checks.task}"`,
    size,
    checks.sizeLimitBytes,
    checks.store,
  )
  throw new TaskFailure(checks.overLimitHint ? `${message}. ${checks.overLimitHint}` : message, 'fatal')
}

/**
 * How deep arrays and objects may sit within each other in a result: the checks that walk a value
 * (the schema, the JSON and text rules) recurse, and would run out of stack far below what
 * PostgreSQL refuses. The Python package refuses the same depth before it writes (sdks/vectors).
 */
export const MAX_RESULT_DEPTH = 512

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The file's text; bytes that are not UTF-8 fail the task, never become U+FFFD in a stored value. */
function decodeUtf8(bytes: Buffer, task: string): string {
  try {
    return utf8.decode(bytes)
  } catch {
    // Where the first bad sequence begins: the first byte at which the lenient decoding differs.
    const lenient = Buffer.from(bytes.toString('utf8'), 'utf8')
    let at = 0
    while (at < bytes.length && bytes[at] === lenient[at]) at++
    throw new TaskFailure(
      `the result of pod task "${task}" is not UTF-8 text (an invalid byte sequence at byte ${at}); ` +
        'write it as UTF-8, as JSON serializers do',
      'fatal',
    )
  }
}

/** Refuses a value nested deeper than MAX_RESULT_DEPTH, in one pass over the text before any parse. */
function assertNestingWithin(text: string, task: string): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // a backslash: the next character is escaped
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_RESULT_DEPTH)
        throw new TaskFailure(
          `the result of pod task "${task}" is nested deeper than ${MAX_RESULT_DEPTH} levels of arrays and ` +
            'objects, past what Podline checks and stores; flatten the value',
          'fatal',
        )
    } else if (c === 0x5d || c === 0x7d) depth--
  }
}

/** Integers JSON.parse would round (past 2^53 − 1): refused, so a task never stores a number the pod did not write. */
function unsafeIntegerReviver(task: string) {
  return function (this: unknown, key: string, value: unknown, context?: { source?: string }): unknown {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && Number.isInteger(value)) {
      const source = context?.source
      if (source !== undefined && /^-?\d+$/.test(source))
        throw new TaskFailure(
          `the result of pod task "${task}" holds the integer ${source}${key === '' ? '' : ` (key "${key}")`}, past ` +
            '2^53 − 1, which a JSON number cannot hold exactly (it would read as ' +
            `${value}); write it as a string`,
          'fatal',
        )
    }
    return value
  }
}

function parseJson(text: string, task: string): JsonValue {
  try {
    // A reviver costs a call per value: only a text with a run of 16 digits can hold such an integer.
    return (
      /\d{16}/.test(text) ? JSON.parse(text, unsafeIntegerReviver(task)) : JSON.parse(text)
    ) as JsonValue
  } catch (error) {
    if (error instanceof TaskFailure) throw error
    const reason = error instanceof Error ? error.message : String(error)
    const what = `the result of pod task "${task}" is not valid JSON`
    const message = endsTooSoon(text, reason)
      ? `${what}: it ends before the value does (${reason}), so the file looks truncated: written in part, ` +
        `or its writer died before it finished. ${startAndEnd(text)}. Let the writer finish before the ` +
        'container exits: write the whole value with a JSON serializer to a temporary file beside ' +
        '$PODLINE_XCOM_PATH, close it, then rename it over $PODLINE_XCOM_PATH'
      : `${what} (${reason}); it starts with ${preview(text)}. ` +
        'Write the value with a JSON serializer (json.dump, JSON.stringify, jq) to $PODLINE_XCOM_PATH'
    throw new TaskFailure(message, 'fatal', { cause: error })
  }
}

/**
 * Whether JSON.parse gave up at the end of the text (trailing whitespace aside): what came before was
 * JSON so far, and a value was still open, which is what a file cut short looks like. JSON.parse
 * reports no position but in its message: V8 says "Unexpected end of JSON input", or names a
 * position at the end. A message in neither form keeps the general wording.
 */
function endsTooSoon(text: string, reason: string): boolean {
  if (reason.includes('end of JSON input')) return true
  const position = /at position (\d+)/.exec(reason)?.[1]
  return position !== undefined && Number(position) >= text.trimEnd().length
}

const PREVIEW_CHARS = 80

/** The first bytes of a value, quoted, so a message shows what was written without dumping it all. */
function preview(text: string, max = PREVIEW_CHARS): string {
  return text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}…`
}

/** A truncated value's first bytes, and its last ones (where it stops) when they are not the same. */
function startAndEnd(text: string): string {
  if (text.length <= PREVIEW_CHARS) return `It reads ${preview(text)}`
  return `It starts with ${preview(text)} and ends with …${JSON.stringify(text.slice(-PREVIEW_CHARS))}`
}
