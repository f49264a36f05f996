export type FailureClass =
  /** The task's own failure (non-zero exit, exception): retried while retries remain. */
  | 'task'
  /** Infrastructure (eviction, node loss, API 5xx after retries): retried while retries remain. */
  | 'infra'
  /** Will fail the same way again (bad image, invalid output, quota): no retry. */
  | 'fatal'

/** An executor's verdict on a failed attempt, with the reason the user reads in `podline status`. */
export class TaskFailure extends Error {
  override readonly name = 'TaskFailure'
  constructor(
    message: string,
    readonly failureClass: FailureClass = 'task',
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Thrown by an executor to end the attempt as `skipped` (e.g. `skipOnExitCode`). */
export class TaskSkipped extends Error {
  override readonly name = 'TaskSkipped'
}
