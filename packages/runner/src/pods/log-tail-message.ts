/**
 * The part of a container's failure message that quotes its log. A progress line, a status table
 * and the UI's list show an error's first line only, so that line carries the last log line itself;
 * the lines before it follow underneath.
 * @example
 * `container base exited with code 3${logTailPart(['connecting', 'cannot connect to db'])}`
 * // container base exited with code 3; its last log line: cannot connect to db
 * // last 2 log lines:
 * // connecting
 * // cannot connect to db
 */
export function logTailPart(tail: readonly string[]): string {
  const last = tail.findLast((line) => line.trim() !== '')
  if (last === undefined) return ' (it wrote no log)'
  const more = tail.length > 1 ? `\nlast ${tail.length} log lines:\n${tail.join('\n')}` : ''
  return `; its last log line: ${last}${more}`
}
