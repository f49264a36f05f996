import { assertJson, type JsonValue, NotJsonError, retryDelayMs } from '@podline/sdk'
import { nextTaskState } from '../engine/task-state-machine.js'
import { TaskFailure, TaskSkipped } from '../executors/task-execution.js'
import type { ClaimedTaskRun } from '../queue/claim-task-runs.js'
import type { AttemptOutcome } from '../queue/finish-attempt.js'

export class XComTooLargeError extends Error {
  override readonly name = 'XComTooLargeError'
}

export class TaskTimeoutError extends Error {
  override readonly name = 'TaskTimeoutError'
}

/** Checks a task's result and turns it into what is stored: JSON only, within the size limit. */
export function successOutcome(task: string, value: unknown, limitBytes: number): AttemptOutcome {
  if (value === undefined) return { state: 'success', output: undefined, size: 0 }
  assertJson(task, value)
  const size = Buffer.byteLength(JSON.stringify(value))
  if (size > limitBytes) {
    throw new XComTooLargeError(
      `task "${task}" returned ${size} bytes, over the XCom limit of ${limitBytes} bytes; ` +
        'store large data elsewhere (object storage, a table) and return a reference, or raise the limit (PODLINE_XCOM_LIMIT_BYTES)',
    )
  }
  return { state: 'success', output: value as JsonValue, size }
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
    error instanceof XComTooLargeError
  const retryable = !fatal && claimed.attempt < claimed.maxAttempts
  const state = nextTaskState('running', { type: 'fail', retryable })
  const err = error instanceof Error ? error : new Error(String(error))
  const base = { error: `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`, stack: err.stack }
  if (state === 'up_for_retry') {
    // The first attempt of this round of retries (1, or the attempt after a `podline retry`).
    const roundStart = claimed.maxAttempts - claimed.retries
    const retry = claimed.attempt - roundStart + 1
    return { state, ...base, retryDelayMs: retryDelayMs(claimed.retryDelay, retry) }
  }
  return { state: 'failed', ...base }
}
