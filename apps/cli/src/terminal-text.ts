/**
 * Text that came from a task or a pod (log lines, errors, stacks, outputs) is printed with its
 * control characters escaped, so it cannot move the cursor, recolour or retitle the operator's
 * terminal, clear the screen, or hide what follows (`\r`, bidi overrides). Tab and newline pass.
 * `--raw` prints it as stored.
 */
// C0 but tab and newline, DEL, C1 (U+009B is a one-character CSI for many terminals), and the
// bidirectional overrides and isolates that reorder what is shown.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

function escapeChar(c: string): string {
  const code = c.charCodeAt(0)
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`
}

/** `\x1b[2J` → the six characters `\x1b[2J`: visible, inert. */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, escapeChar)
}

/** The printer a verb uses for stored text: escaping unless `--raw`. */
export function terminalText(raw: boolean | undefined): (text: string) => string {
  return raw ? (text) => text : escapeControl
}

/**
 * JSON.stringify escapes C0 already; the rest of the set is written as `\u` escapes, which JSON
 * reads back as the same characters, so `--json` output stays exact and safe to print.
 */
export function safeJson(value: unknown): string {
  return escapeJson(JSON.stringify(value, null, 2) ?? 'null')
}

/** As safeJson, on one line: for output of one JSON object a line (`logs --json`). */
export function safeJsonLine(value: unknown): string {
  return escapeJson(JSON.stringify(value) ?? 'null')
}

function escapeJson(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
