import { CANCEL_CHANNEL, QUEUE_CHANNEL, RUN_FINISHED_CHANNEL } from '../queue/sql-values.js'
import type { Database } from '../store/database.js'
import { eventsAfter, lastEventId, type Transition } from './events-after.js'

export interface EventFeedOptions {
  /** How often the events table is read when no notification comes (task starts have no channel). Default 500 ms. */
  pollMs?: number
  /**
   * How long a hole in the ids is waited for: an event whose transaction has not committed yet
   * leaves one, and the events after it are held until it fills (a rolled-back insert never
   * fills its hole). Default 2 s.
   */
  holeMs?: number
}

/** What a subscriber receives: transitions in id order, or a reset when its resume point is too old to replay. */
export type FeedMessage =
  | { kind: 'transitions'; transitions: Transition[] }
  | { kind: 'reset'; cursor: string }

const READ_GAP_MS = 100
const BATCH = 1000
/** Past this many events behind, a resuming client is told to reload instead of replayed. */
export const REPLAY_LIMIT = 10_000

/**
 * One reader of the events table for every client of the live stream. The events table is the
 * source of truth: the NOTIFYs the queue already sends (work queued, a run finished or cancelled)
 * only wake the reader, which reads the events after the last one it broadcast by id; a poll covers
 * the transitions that have no channel. Ids are handed out in commit order only up to holes, so
 * events past a hole wait for it (see holeMs): a client that resumes after an id has missed nothing
 * below it.
 */
export class EventFeed {
  #cursor = 0n
  readonly #subscribers = new Set<(message: FeedMessage) => void>()
  readonly #pollMs: number
  readonly #holeMs: number
  #holeSince: number | undefined
  #timer: NodeJS.Timeout | undefined
  #reading = false
  #again = false
  #lastRead = Number.NEGATIVE_INFINITY
  #stopped = false
  #unlisten: Array<() => Promise<void>> = []
  #reads = 0

  constructor(
    readonly database: Database,
    options: EventFeedOptions = {},
  ) {
    this.#pollMs = options.pollMs ?? 500
    this.#holeMs = options.holeMs ?? 2000
  }

  /** The id of the last transition broadcast: where a new client's stream begins. */
  get cursor(): bigint {
    return this.#cursor
  }

  /** How many times the events table was read: a test waits on it to know the feed has looked. */
  get reads(): number {
    return this.#reads
  }

  async start(): Promise<void> {
    this.#cursor = await lastEventId(this.database)
    const wake = () => this.#wake()
    this.#unlisten = await Promise.all(
      [QUEUE_CHANNEL, CANCEL_CHANNEL, RUN_FINISHED_CHANNEL].map((channel) =>
        this.database.listen(channel, wake),
      ),
    )
    this.#schedule(this.#pollMs)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await Promise.all(this.#unlisten.map((fn) => fn().catch(() => {})))
    this.#subscribers.clear()
  }

  /**
   * Delivers every transition after `afterId` (replayed from the table up to the cursor, then
   * live), or from now on when `afterId` is undefined. Returns the unsubscribe function.
   */
  async subscribe(afterId: bigint | undefined, deliver: (message: FeedMessage) => void): Promise<() => void> {
    const upTo = this.#cursor
    const held: FeedMessage[] = []
    let replaying = afterId !== undefined && afterId < upTo
    const subscriber = (message: FeedMessage) => (replaying ? held.push(message) : deliver(message))
    this.#subscribers.add(subscriber)
    if (replaying && afterId !== undefined) {
      // What the feed broadcasts meanwhile is above upTo: held, then delivered after the replay.
      let from = afterId
      let replayed = 0
      while (from < upTo) {
        const transitions = await eventsAfter(this.database, from, { limit: BATCH, upTo })
        if (transitions.length === 0) break
        replayed += transitions.length
        if (replayed > REPLAY_LIMIT) {
          deliver({ kind: 'reset', cursor: upTo.toString() })
          break
        }
        deliver({ kind: 'transitions', transitions })
        from = BigInt(transitions.at(-1)?.id ?? upTo)
      }
      replaying = false
      for (const message of held) deliver(message)
    }
    return () => this.#subscribers.delete(subscriber)
  }

  #wake(): void {
    if (this.#reading) this.#again = true
    // A busy queue NOTIFYs at every completion: the table is read at most every READ_GAP_MS.
    else this.#schedule(Math.max(0, this.#lastRead + READ_GAP_MS - performance.now()))
  }

  #schedule(ms: number): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#read(), ms)
    this.#timer.unref()
  }

  async #read(): Promise<void> {
    this.#reading = true
    this.#lastRead = performance.now()
    let full = false
    try {
      const rows = await eventsAfter(this.database, this.#cursor, { limit: BATCH })
      full = rows.length === BATCH
      const ready: Transition[] = []
      for (const row of rows) {
        const id = BigInt(row.id)
        if (id !== this.#cursor + 1n) {
          this.#holeSince ??= performance.now()
          if (performance.now() - this.#holeSince < this.#holeMs) break
        }
        this.#holeSince = undefined
        this.#cursor = id
        ready.push(row)
      }
      if (ready.length > 0) this.#broadcast({ kind: 'transitions', transitions: ready })
    } catch {
      // The database is away for a moment: the next read picks up from the same cursor.
    } finally {
      this.#reading = false
      this.#reads++
    }
    const again = this.#again || full
    this.#again = false
    // A hole is read again soon, so the events held behind it are not late by a whole poll.
    this.#schedule(again ? READ_GAP_MS : this.#holeSince !== undefined ? 50 : this.#pollMs)
  }

  #broadcast(message: FeedMessage): void {
    for (const subscriber of this.#subscribers) subscriber(message)
  }
}
