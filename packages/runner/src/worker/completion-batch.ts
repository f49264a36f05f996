import { leaseLost } from '../queue/attempt-fence.js'
import { type AttemptEnding, finishAttempts } from '../queue/finish-attempt.js'
import type { Database } from '../store/database.js'
import { endSpan, startSpan } from '../tracing/tracing.js'

export interface CompletionBatchOptions {
  database: Database
  workerId: string
  /**
   * How long the first ending of a batch waits for others. 0 completes each attempt in its own
   * transaction. The wait ends early when no other attempt of this worker could join (see `idle`).
   */
  windowMs: number
  /** Endings per transaction at most. */
  maxSize: number
  /** True when every inline attempt this worker holds has ended: waiting longer gains nothing. */
  idle: () => boolean
}

interface Pending {
  ending: AttemptEnding
  since: number
  /** With the size of the batch that stored it. */
  resolve: (batchSize: number) => void
  reject: (error: unknown) => void
}

/*
 * Batched completion: the attempts of this worker that end close together are stored by one
 * transaction (finishAttempts), so a commit serves many tasks. One batch is in flight at a time;
 * the endings that arrive meanwhile form the next, which starts as soon as that one commits if they
 * have waited the window out or no other attempt could join them.
 *
 * Each ending keeps its own fate: one fenced out of a batch (lease lost) is rejected alone. When a
 * batch's transaction fails (a connection lost, a value the database refuses), its endings are
 * stored again one by one, so that one ending's fault is reported for it alone and the caller's
 * retry logic (Worker#finish) sees each error as if there had been no batch.
 */
export class CompletionBatch {
  readonly #o: CompletionBatchOptions
  #pending: Pending[] = []
  #timer: NodeJS.Timeout | undefined
  #flushing = false

  constructor(options: CompletionBatchOptions) {
    this.#o = options
  }

  /**
   * Stores the ending; rejects with LeaseLostError when this worker's claim no longer holds. Its
   * 'attempt finish' span is the attempt's child, from the hand-over to the commit, the wait for
   * the batch included (traced as XCom I/O too: a success stores its return_value in the batch).
   */
  complete(ending: AttemptEnding): Promise<void> {
    const { span } = startSpan('attempt finish', { 'podline.outcome': ending.outcome.state })
    const stored =
      this.#o.windowMs <= 0
        ? this.#storeAlone(ending).then(() => 1)
        : new Promise<number>((resolve, reject) => {
            this.#pending.push({ ending, since: performance.now(), resolve, reject })
            this.#schedule()
          })
    return stored.then(
      (batchSize) => {
        span.setAttribute('podline.batch_size', batchSize)
        endSpan(span)
      },
      (error: unknown) => {
        endSpan(span, error)
        throw error
      },
    )
  }

  /** Soon: an attempt that joins the batch may make it ready. Deferred so that endings that settle together are taken together. */
  #schedule(): void {
    if (this.#flushing || this.#pending.length === 0) return
    const oldest = this.#pending[0] as Pending
    const waited = performance.now() - oldest.since
    if (this.#pending.length >= this.#o.maxSize || waited >= this.#o.windowMs || this.#o.idle()) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      setImmediate(() => void this.#flush())
      this.#flushing = true
      return
    }
    if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#schedule()
      }, this.#o.windowMs - waited)
    }
  }

  async #flush(): Promise<void> {
    const batch = this.#pending.splice(0, this.#o.maxSize)
    try {
      if (batch.length === 1) {
        const [only] = batch as [Pending]
        await this.#storeAlone(only.ending).then(() => only.resolve(1), only.reject)
        return
      }
      let stored: boolean[] | undefined
      try {
        stored = await finishAttempts(
          this.#o.database,
          this.#o.workerId,
          batch.map((p) => p.ending),
        )
      } catch {
        // Isolate the fault: each ending alone, its own error for it alone.
        for (const p of batch) await this.#storeAlone(p.ending).then(() => p.resolve(1), p.reject)
        return
      }
      for (const [i, p] of batch.entries()) {
        if (stored[i]) p.resolve(batch.length)
        else p.reject(leaseLost(p.ending.ref))
      }
    } finally {
      this.#flushing = false
      this.#schedule()
    }
  }

  async #storeAlone(ending: AttemptEnding): Promise<void> {
    const [stored] = await finishAttempts(this.#o.database, this.#o.workerId, [ending])
    if (!stored) throw leaseLost(ending.ref)
  }
}
