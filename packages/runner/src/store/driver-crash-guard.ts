/*
 * postgres.js 3.4 can throw from a setImmediate after a connection drops (a write on a null socket:
 * porsager/postgres issues 1154 and 1208). No try/catch reaches it, so it would end a long-running
 * worker at the moment it should be reconnecting. The process's fault handlers (worker/task-faults.ts,
 * installed by each program's main) survive that one driver error and leave every other fatal.
 */
export function isDriverSocketCrash(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    error.message.includes("reading 'write'") &&
    /postgres/.test(error.stack ?? '')
  )
}

/** A socket's own errors, and postgres.js's names for a connection that went away. */
const LOST_CONNECTION_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
])

/*
 * A rejection nobody awaits, carrying a dropped connection's socket error with no frame of the
 * program (seen as "read ECONNRESET at TCP.onStreamRead" while PostgreSQL restarted, about one run
 * in three of tests/faults/postgres-restart.test.ts): the driver rejects a promise of its own. The
 * statement it belonged to failed, and every loop of the worker (claim, completion, heartbeat,
 * reconcile, scheduler, log lines) retries or recovers its own statements, so the process survives
 * it with a warning; any other unhandled rejection stays fatal.
 */
export function isDriverConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return error instanceof Error && typeof code === 'string' && LOST_CONNECTION_CODES.has(code)
}
