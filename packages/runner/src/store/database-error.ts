/**
 * PostgreSQL's verdict on a failed statement, read from the driver's error (drizzle wraps it as the
 * `cause` of an error whose message repeats the SQL and every parameter, which must not reach a log).
 */
// Five characters with a digit: every SQLSTATE has one, and errno codes (EPIPE) none.
const SQLSTATE = /^(?=.*\d)[0-9A-Z]{5}$/

export function sqlStateOf(error: unknown): string | undefined {
  for (
    let e = error, depth = 0;
    e instanceof Object && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && SQLSTATE.test(code)) return code
  }
  return undefined
}

/**
 * A data error (class 22: bad text, out of range), a constraint violation (class 23) or a program
 * limit (class 54: a jsonb value over 256 MB, too many arguments) fails the same way however often
 * it is sent: it is the statement's fault, not an outage, and is never retried.
 */
export function isPermanentDatabaseError(error: unknown): boolean {
  const state = sqlStateOf(error)
  return state !== undefined && ['22', '23', '54'].includes(state.slice(0, 2))
}

/** The server's message and SQLSTATE (or the driver's reason), without the statement or its parameters. */
export function databaseErrorMessage(error: unknown): string {
  let e: unknown = error
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && SQLSTATE.test(code)) return `${e.message} (SQLSTATE ${code})`
    // drizzle's wrapper says "Failed query: <sql>\nparams: <values>": its cause has the reason.
    if (!e.message.startsWith('Failed query:')) return e.message
    e = e.cause
  }
  return e instanceof Error || e === undefined ? 'a database statement failed' : String(e)
}

/** Whether an error came from a database statement (the server's, or drizzle's wrapper of one). */
export function isDatabaseError(error: unknown): boolean {
  return (
    sqlStateOf(error) !== undefined || (error instanceof Error && error.message.startsWith('Failed query:'))
  )
}
