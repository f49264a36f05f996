import type { ClaimedTaskRun, TaskRunId } from '../queue/claim-task-runs.js'
import { returnUnstarted } from '../queue/release-task-runs.js'
import type { Database } from '../store/database.js'
import { databaseErrorMessage } from '../store/database-error.js'
import type { WorkerLog } from '../worker-log.js'
import type { LeaseKeeper } from './lease-keeper.js'

/**
 * Claim ahead takes no more than the worker expects to start within this long, from the recent
 * durations of its inline tasks: short tasks fill the local queue, tasks of a second or more leave it
 * empty (their claim's round trip is nothing beside them, and another worker may be idle).
 */
const CLAIM_AHEAD_HORIZON_MS = 50

export interface LocalQueueOptions {
  database: Database
  workerId: string
  /** Inline task runs running at once: with the tasks' durations, how many start within the horizon. */
  concurrency: number
  /** The most the queue holds. 0: nothing is claimed ahead. */
  claimAhead: number
  /** The worker's lease keeper, once started: a queued task run stays leased until it starts or goes back. */
  leases: () => Pick<LeaseKeeper, 'leaseLeftMs' | 'drop'> | undefined
  log: WorkerLog
}

/**
 * The local queue: inline task runs claimed ahead of a free slot, oldest first, so that a freed slot
 * starts the next task without a round trip to the database. It trades fairness for throughput on
 * short tasks: a queued task run is this worker's (leased and renewed like a running one) although
 * another worker may be idle, so the queue is kept to what the worker expects to start within
 * CLAIM_AHEAD_HORIZON_MS, judged by the recent durations of its tasks; until one has been measured,
 * and for tasks of a second or more, it stays empty.
 *
 * A queued task run leaves it in one of three ways:
 * - started, when a slot frees (`startWhile`); the next claim records its start (`takeStarted`);
 * - handed back to the queue unstarted (`handBack`): on stop, on a fatal fault, or when its lease
 *   may have lapsed before it started (a slow claim, a renewal that has not reached it yet), since
 *   another worker may take it over at any moment;
 * - dropped (`drop`): its lease was lost, or its run was cancelled or failed, so the database has
 *   decided it already.
 *
 * The claim itself stays in the claim loop, which asks for `room` beside its free slots.
 */
export class LocalQueue {
  readonly #o: LocalQueueOptions
  #queued: ClaimedTaskRun[] = []
  /** The recent inline tasks' durations (moving average, ms); none measured yet: no claim ahead. */
  #taskMs: number | undefined
  /** Started from the queue since the last claim, which records their start (started_at). */
  #started: TaskRunId[] = []

  constructor(options: LocalQueueOptions) {
    this.#o = options
  }

  get size(): number {
    return this.#queued.length
  }

  /** How many more inline task runs may be claimed ahead. */
  room(): number {
    if (this.#taskMs === undefined) return 0
    const startable = Math.floor(
      (this.#o.concurrency * CLAIM_AHEAD_HORIZON_MS) / Math.max(this.#taskMs, 0.01),
    )
    return Math.max(0, Math.min(this.#o.claimAhead, startable) - this.#queued.length)
  }

  /** An inline task returned after `ms`: the durations that size the queue. */
  recordDuration(ms: number): void {
    this.#taskMs = this.#taskMs === undefined ? ms : 0.8 * this.#taskMs + 0.2 * ms
  }

  push(c: ClaimedTaskRun): void {
    this.#queued.push(c)
  }

  /**
   * Whether a claimed task run's lease may have run out before it starts: another worker may take
   * it over any moment, so it never starts here. It goes back to the queue; if it was taken already,
   * that return changes nothing (fenced).
   */
  leaseLapsed(c: ClaimedTaskRun): boolean {
    return (this.#o.leases()?.leaseLeftMs(c.id) ?? Number.POSITIVE_INFINITY) <= 0
  }

  /**
   * Starts queued task runs, oldest first, while `hasSlot` says a slot is free (asked again after
   * each start); those whose lease may have lapsed go back instead. Returns how many started.
   */
  startWhile(hasSlot: () => boolean, start: (c: ClaimedTaskRun) => void): number {
    let started = 0
    const lapsed: ClaimedTaskRun[] = []
    while (this.#queued.length > 0 && hasSlot()) {
      const next = this.#queued.shift() as ClaimedTaskRun
      if (this.leaseLapsed(next)) {
        lapsed.push(next)
        continue
      }
      this.#started.push(next.id)
      start(next)
      started++
    }
    if (lapsed.length > 0) void this.handBack(lapsed)
    return started
  }

  /**
   * The task runs started from the queue since the last claim, for the next claim to record; those
   * `stillRunning` rejects are left out (their completion records the start). `restoreStarted`
   * puts them back when that claim fails.
   */
  takeStarted(stillRunning: (id: TaskRunId) => boolean): TaskRunId[] {
    return this.#started.splice(0).filter(stillRunning)
  }

  restoreStarted(ids: TaskRunId[]): void {
    this.#started.push(...ids)
  }

  /** Takes the queued task runs that match out of the queue, their leases dropped. */
  drop(match: (c: ClaimedTaskRun) => boolean): ClaimedTaskRun[] {
    const dropped = this.#queued.filter(match)
    if (dropped.length === 0) return []
    this.#queued = this.#queued.filter((c) => !match(c))
    const leases = this.#o.leases()
    for (const c of dropped) leases?.drop(c.id)
    return dropped
  }

  /** Hands the queued task runs that match back to the database's queue, their claims undone. */
  async returnMatching(match: (c: ClaimedTaskRun) => boolean): Promise<void> {
    await this.handBack(this.drop(match))
  }

  /**
   * Hands claimed task runs that never started back to the database's queue, their claims undone. A
   * failure is logged, not thrown: their leases expire and the reconciler requeues them.
   */
  async handBack(returned: ClaimedTaskRun[]): Promise<void> {
    const leases = this.#o.leases()
    for (const c of returned) leases?.drop(c.id)
    await returnUnstarted(this.#o.database, this.#o.workerId, returned).catch((error: Error) => {
      this.#o.log(
        'warn',
        `could not return ${returned.length} unstarted task runs (their leases will expire): ${databaseErrorMessage(error)}`,
      )
    })
  }
}
