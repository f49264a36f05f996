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
