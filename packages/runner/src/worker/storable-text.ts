/**
 * Text PostgreSQL cannot store: a `text` or `jsonb` value with a NUL character (`\u0000`) fails with
 * 22P05/22021, and a lone UTF-16 surrogate has no UTF-8 form. Outputs and XCom keys are the user's
 * data, so they are refused with the path of the bad value; log lines and error text are the user's
 * prose, so the characters are escaped and the line kept.
 */

// A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

export class UnstorableTextError extends Error {
  override readonly name = 'UnstorableTextError'
}

function problem(text: string): string | undefined {
  UNSTORABLE.lastIndex = 0
  const match = UNSTORABLE.exec(text)
  if (!match) return undefined
  const char = match[0]
  if (char === '\u0000') return 'contains a NUL character (\\u0000)'
  const code = char.charCodeAt(0).toString(16).toUpperCase()
  return `contains a lone UTF-16 surrogate (\\u${code}) at index ${match.index}, which has no UTF-8 form`
}

const FIX =
  'which PostgreSQL cannot store; remove it, or encode the value (base64 for binary data) before returning it'

/** Throws UnstorableTextError naming the first string or key of `value` that PostgreSQL cannot store. */
export function assertStorable(what: string, value: unknown): void {
  const walk = (v: unknown, path: string): void => {
    if (typeof v === 'string') {
      const p = problem(v)
      if (p) throw new UnstorableTextError(`${what}: ${path} ${p}, ${FIX}`)
    } else if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) walk(item, `${path}[${i}]`)
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        const keyPath = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`
        const p = problem(key)
        if (p) throw new UnstorableTextError(`${what}: the key ${keyPath} ${p}, ${FIX}`)
        walk(item, keyPath)
      }
    }
  }
  walk(value, '$')
}

/** `text` with each unstorable character written as its `\uXXXX` escape, so the rest of it is kept. */
export function escapeUnstorable(text: string): string {
  UNSTORABLE.lastIndex = 0
  if (!UNSTORABLE.test(text)) return text
  return text.replace(UNSTORABLE, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)
}

/** The same for every string and key of a JSON-like value (log fields). */
export function escapeUnstorableDeep(value: unknown): unknown {
  if (typeof value === 'string') return escapeUnstorable(value)
  if (Array.isArray(value)) return value.map(escapeUnstorableDeep)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [escapeUnstorable(k), escapeUnstorableDeep(v)]),
    )
  }
  return value
}
