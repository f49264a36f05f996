import { assertJson, type JsonValue, NotJsonError, retryDelayMs } from '@podline/sdk'
import { TaskFailure, TaskSkipped } from '../engine/task-failure.js'
import { nextTaskState } from '../engine/task-state-machine.js'
import type { ClaimedTaskRun } from '../queue/claim-task-runs.js'
import type { AttemptOutcome } from '../queue/finish-attempt.js'
import { databaseErrorMessage, isDatabaseError } from '../store/database-error.js'
import { REFERENCE_KEY, usesReservedKey } from '../store/xcom-row-value.js'
import { StoredXCom } from '../xcom-store/pod-transfers.js'
import { xcomTooLargeMessage } from '../xcom-store/xcom-limit.js'
import { assertStorable, escapeUnstorable, UnstorableTextError } from './storable-text.js'
import { TaskCrashError } from './task-faults.js'
import { asError } from './thrown-value.js'

export class XComTooLargeError extends Error {
  override readonly name = 'XComTooLargeError'
}

/**
 * Checks a task's result and turns it into what is stored: JSON only, within the size limit.
 * `store`: the XCom store's location, when one is configured (for the limit's message).
 */
export function successOutcome(
  task: string,
  value: unknown,
  limitBytes: number,
  store?: string,
): AttemptOutcome {
  if (value === undefined) return { state: 'success', output: undefined, size: 0 }
  // A pod's result already in the store, its size and checksum checked: the row holds the reference.
  if (value instanceof StoredXCom) {
    if (value.size > limitBytes)
      throw new XComTooLargeError(
        xcomTooLargeMessage(`the output of task "${task}"`, value.size, limitBytes, store),
      )
    return { state: 'success', output: value.reference, size: value.size }
  }
  assertJson(task, value)
  assertStorable(`the output of task "${task}"`, value)
  if (usesReservedKey(value)) {
    throw new TaskFailure(
      `the output of task "${task}" has the top-level key "${REFERENCE_KEY}", which Podline reserves for values kept in the XCom store; rename that key`,
      'fatal',
    )
  }
  const json = JSON.stringify(value)
  const size = Buffer.byteLength(json)
  if (size > limitBytes) {
    throw new XComTooLargeError(xcomTooLargeMessage(`the output of task "${task}"`, size, limitBytes, store))
  }
  return { state: 'success', output: value as JsonValue, size, json }
}

/**
 * Turns an attempt's error into the next state: retry with backoff while allowed, else failed or
 * skipped. The budget and the backoff come from the task run's row (what the claim returned).
 */
export function failureOutcome(
  error: unknown,
  claimed: Pick<ClaimedTaskRun, 'attempt' | 'maxAttempts' | 'retries' | 'retryDelay'>,
): AttemptOutcome {
  if (error instanceof TaskSkipped) return { state: 'skipped', reason: error.message }
  const fatal =
    (error instanceof TaskFailure && error.failureClass === 'fatal') ||
    error instanceof NotJsonError ||
    error instanceof XComTooLargeError ||
    error instanceof UnstorableTextError
  const retryable = !fatal && claimed.attempt < claimed.maxAttempts
  const state = nextTaskState('running', { type: 'fail', retryable })
  const err = asError(error)
  // A database error inside the attempt (an XCom write) is told by the server's reason: the
  // driver's message and stack repeat the SQL and its parameters.
  const fromDatabase = isDatabaseError(err)
  // A crash is described by its wrapper already; its own name would only repeat it.
  const name =
    err.name === 'Error' || err instanceof TaskCrashError || err instanceof TaskFailure || fromDatabase
      ? ''
      : `${err.name}: `
  const message = fromDatabase ? databaseErrorMessage(err) : err.message
  // Error text is the task's prose: what PostgreSQL cannot store is escaped, the rest kept.
  const base = {
    error: escapeUnstorable(`${name}${message}`),
    ...(err.stack && !fromDatabase ? { stack: escapeUnstorable(err.stack) } : {}),
  }
  if (state === 'up_for_retry') {
    // The first attempt of this round of retries (1, or the attempt after a `podline retry`).
    const roundStart = claimed.maxAttempts - claimed.retries
    const retry = claimed.attempt - roundStart + 1
    return { state, ...base, retryDelayMs: retryDelayMs(claimed.retryDelay, retry) }
  }
  return { state: 'failed', ...base }
}
