/*
 * postgres.js 3.4 can throw from a setImmediate after a connection drops (a write on a null socket:
 * porsager/postgres issues 1154 and 1208). No try/catch reaches it, so it would end a long-running
 * worker at the moment it should be reconnecting. Long-running programs install this guard: it
 * survives that one driver error, logs it, and leaves every other uncaught error fatal as usual.
 */
let installed = false

export function isDriverSocketCrash(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    error.message.includes("reading 'write'") &&
    /postgres/.test(error.stack ?? '')
  )
}

export function guardAgainstDriverSocketCrash(
  log: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
): void {
  if (installed) return
  installed = true
  process.on('uncaughtException', (error) => {
    if (isDriverSocketCrash(error)) {
      log(`survived a known postgres.js error after a dropped connection: ${error.message}`)
      return
    }
    process.stderr.write(`${error.stack ?? error}\n`)
    process.exit(1)
  })
}
