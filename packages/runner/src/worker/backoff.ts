/**
 * Exponential backoff of a loop that waits out a database outage (the worker's claim loop and its
 * completion): each failure doubles the delay up to `maxMs`, a success starts again from `initialMs`.
 * Hand-written rather than a retry library: both loops decide themselves when to stop (on stopping,
 * on a lost lease) and only need the next delay.
 */
export class Backoff {
  #next: number

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {
    this.#next = initialMs
  }

  /** The delay to wait now; the one after is twice as long. */
  next(): number {
    const delay = this.#next
    this.#next = Math.min(this.#next * 2, this.maxMs)
    return delay
  }

  reset(): void {
    this.#next = this.initialMs
  }

  /** Waits the next delay. */
  wait(): Promise<void> {
    const ms = this.next()
    return new Promise((resolve) => setTimeout(resolve, ms))
  }
}
