import { retryDelayMs } from '@podline/sdk'

/**
 * The backoff of every loop that waits out an outage: the worker's claim loop and completion, the
 * Kubernetes API calls, the pod watch's reconnects. The delays follow the SDK's `retryDelayMs`, the
 * same formula as a task's retries (exponential up to a ceiling, with optional jitter), so there is
 * one formula for all of them. Hand-written rather than a retry library: each loop decides itself
 * when to stop (on stopping, on a lost lease, on a fatal API error) and only needs the next delay.
 */
export class Backoff {
  #failures = 0
  readonly #delay: { initialMs: number; factor: number; maxMs: number; jitter: number }

  constructor(initialMs: number, maxMs: number, options: { jitter?: number } = {}) {
    this.#delay = { initialMs, factor: 2, maxMs, jitter: options.jitter ?? 0 }
  }

  /** The delay to wait now; the one after is twice as long, up to the ceiling. */
  next(): number {
    this.#failures += 1
    return retryDelayMs(this.#delay, this.#failures)
  }

  /** The delay after `failures` consecutive failures, for a loop that counts them itself. */
  after(failures: number): number {
    return retryDelayMs(this.#delay, failures)
  }

  reset(): void {
    this.#failures = 0
  }
}
