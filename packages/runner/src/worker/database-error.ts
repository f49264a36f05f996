/**
 * PostgreSQL's verdict on a failed statement, read from the driver's error (drizzle wraps it as the
 * `cause` of an error whose message repeats the SQL and every parameter, which must not reach a log).
 */
export function sqlStateOf(error: unknown): string | undefined {
  for (
    let e = error, depth = 0;
    e instanceof Object && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  }
  return undefined
}

/**
 * A data error (class 22: bad text, out of range) or a constraint violation (class 23) fails the same
 * way however often it is sent: it is the statement's fault, not an outage, and is never retried.
 */
export function isPermanentDatabaseError(error: unknown): boolean {
  const state = sqlStateOf(error)
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'))
}

/** The server's message and SQLSTATE, without the statement or its parameters. */
export function databaseErrorMessage(error: unknown): string {
  for (
    let e = error, depth = 0;
    e instanceof Object && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))
      return `${(e as Error).message} (SQLSTATE ${code})`
  }
  const message = error instanceof Error ? error.message : String(error)
  // drizzle's wrapper: "Failed query: <sql>\nparams: <values>" — keep neither.
  return message.startsWith('Failed query:') ? 'a database statement failed' : message
}
