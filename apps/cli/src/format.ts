/** Small text formatting shared by the verbs. */
import { safeJson } from './terminal-text.js'

type Formatter = (ms: number) => string

/**
 * How long from `start` to `end` (or until now), as the runner's formatDuration writes it; '' when
 * it never started. The formatter is passed in so this module does not load the runner.
 */
export function elapsed(format: Formatter, start: Date | string | null, end: Date | string | null): string {
  if (!start) return ''
  const to = end ? new Date(end).getTime() : Date.now()
  return format(to - new Date(start).getTime())
}

/** Left-aligned columns, sized to the widest cell, for the operator verbs' tables. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

export function indent(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n')
}

export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(value)}\n`)
}

/** The first line of an error message, for table cells. */
export function firstLine(text: string | null | undefined): string {
  return (text ?? '').split('\n')[0] ?? ''
}
