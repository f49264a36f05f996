export class TaskTimeoutError extends Error {
  override readonly name = 'TaskTimeoutError'
}

/**
 * A task's `timeout`, counted to the attempt's deadline: `msLeft` comes from the database's clock
 * at the claim, so an attempt taken over from a dead worker keeps what was left of its time. The timer aborts the attempt's signal when it fires; but synchronous work keeps
 * the event loop busy and the timer from firing, so the elapsed time is judged again when the task
 * returns: a task that ends after its timeout fails as timed out, whatever it returned.
 */
export class AttemptTimeout {
  #timer: NodeJS.Timeout | undefined
  #began = 0

  constructor(
    private readonly controller: AbortController,
    /** The task's timeout, for the message; null when it has none. */
    private readonly ms: number | null,
    /** What is left of it for this attempt. */
    private readonly msLeft: number | null,
    private readonly task: string,
    private readonly attempt: number,
  ) {}

  start(): void {
    if (this.msLeft === null) return
    this.#began = performance.now()
    this.#timer = setTimeout(() => this.controller.abort(this.#error()), Math.max(0, this.msLeft))
  }

  /** Throws (and aborts the signal) when the task returned after its timeout. */
  checkOnReturn(): void {
    if (this.msLeft === null || performance.now() - this.#began <= this.msLeft) return
    const error = this.#error()
    this.controller.abort(error)
    throw error
  }

  clear(): void {
    clearTimeout(this.#timer)
  }

  #error(): TaskTimeoutError {
    const elapsed = Math.round(performance.now() - this.#began)
    return new TaskTimeoutError(
      `task "${this.task}" timed out after ${this.ms} ms (attempt ${this.attempt}; it ran ${elapsed} ms)`,
    )
  }
}

/**
 * A call to the XCom store inside an attempt, raced with the attempt's signal: a store that hangs
 * ends with the attempt (its timeout, a cancel, a lost lease), and a timeout that fires during the
 * call names the store (`doing`: "writing its output to").
 */
export async function whileStoring<T>(
  call: Promise<T>,
  aborted: Promise<never>,
  doing: string,
  xcoms: { readonly store: { readonly location: string } } | undefined,
): Promise<T> {
  if (!xcoms) return call
  call.catch(() => {})
  try {
    return await Promise.race([call, aborted])
  } catch (error) {
    if (!(error instanceof TaskTimeoutError)) throw error
    throw new TaskTimeoutError(`${error.message}, while ${doing} the XCom store ${xcoms.store.location}`, {
      cause: error,
    })
  }
}
