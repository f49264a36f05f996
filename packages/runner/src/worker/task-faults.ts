import { AsyncLocalStorage } from 'node:async_hooks'
import { isDriverConnectionLoss, isDriverSocketCrash } from '../store/driver-crash-guard.js'
import { describeThrown } from './thrown-value.js'

/**
 * An error the task caused outside its own promise chain (an unhandled rejection, an uncaught
 * exception, a call to process.exit): the attempt fails with it, as if the task had thrown it.
 */
export class TaskCrashError extends Error {
  override readonly name = 'TaskCrashError'
}

/** What a fault handler can do to the attempt whose code raised the fault. */
export interface AttemptScope {
  readonly task: string
  readonly runId: string
  fail(error: TaskCrashError): void
}

// Every callback and promise continuation the task's code creates carries this store, so a fault
// raised anywhere in it (a timer, an event emitter, a forgotten promise) names its attempt.
const attemptScope = new AsyncLocalStorage<AttemptScope>()

export function runInAttemptScope<T>(scope: AttemptScope, fn: () => T): T {
  return attemptScope.run(scope, fn)
}

/** Workers of this process, asked to hand their task runs back before a fatal error ends it. */
const handBacks = new Set<() => Promise<void>>()

/** Registered by a started worker: its held task runs go back to the queue (no retry spent) if the process must die. */
export function onFatalHandBack(handBack: () => Promise<void>): () => void {
  handBacks.add(handBack)
  return () => handBacks.delete(handBack)
}

export interface TaskFaultHandlerOptions {
  /** Where the handlers report; default stderr. */
  log?: (message: string) => void
}

let installed = false
/** process.exit as Node made it, kept before the task guard replaces it. */
let exitProcess: (code?: number) => never = (code) => process.exit(code)

/**
 * Installs the process-wide handlers that keep a task's faults inside the task. Called by a
 * program's main (the CLI and apps/worker), never by the library at import: the handlers of a
 * process belong to the program that owns it.
 *
 * - An uncaught exception or an unhandled rejection raised by task code fails that task's attempt
 *   with the error, and the worker goes on with its other tasks.
 * - `process.exit()` called from task code fails the attempt instead of ending the process.
 * - The known postgres.js errors after a dropped socket are survived (see driver-crash-guard.ts).
 * - Any other uncaught error is fatal, as Node makes it, but first every worker in the process hands
 *   its task runs back to the queue, so the tasks that merely ran beside the culprit spend no retry.
 */
export function installTaskFaultHandlers(options: TaskFaultHandlerOptions = {}): void {
  if (installed) return
  installed = true
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const fault = (kind: string, error: unknown) => {
    const scope = attemptScope.getStore()
    if (scope) {
      scope.fail(
        new TaskCrashError(`${kind} in task "${scope.task}": ${describeThrown(error)}`, { cause: error }),
      )
      return
    }
    if (isDriverSocketCrash(error)) {
      log(`survived a known postgres.js error after a dropped connection: ${(error as Error).message}`)
      return
    }
    void dieHandingBack(kind, error, log)
  }
  process.on('uncaughtException', (error) => fault('an uncaught exception', error))
  process.on('unhandledRejection', (reason) => {
    if (!attemptScope.getStore() && isDriverConnectionLoss(reason)) {
      log(
        `warn: survived an unawaited database error after a dropped connection: ${(reason as Error).message}`,
      )
      return
    }
    fault('an unhandled promise rejection', reason)
  })
  const exit = process.exit.bind(process)
  exitProcess = exit
  process.exit = ((code?: number | string | null) => {
    const scope = attemptScope.getStore()
    if (!scope) return exit(code)
    const error = new TaskCrashError(
      `task "${scope.task}" called process.exit(${code ?? ''}); a task ends by returning or throwing, ` +
        'not by ending the worker it shares with other tasks',
    )
    scope.fail(error)
    // Unwinds the task's own stack as exit would have: nothing after the call runs.
    throw error
  }) as typeof process.exit
}

let dying = false

async function dieHandingBack(kind: string, error: unknown, log: (message: string) => void): Promise<void> {
  if (dying) return
  dying = true
  log(
    `${kind} outside any task ended this process: ${error instanceof Error ? (error.stack ?? error.message) : describeThrown(error)}`,
  )
  const limit = new Promise((resolve) => setTimeout(resolve, 3000).unref())
  await Promise.race([Promise.allSettled([...handBacks].map((handBack) => handBack())), limit])
  exitProcess(1)
}
