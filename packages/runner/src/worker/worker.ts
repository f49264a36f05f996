import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { AnyPipeline } from '@podline/sdk'
import { Backoff } from '../backoff.js'
import { hasKeyedTasks, isLimited } from '../engine/run-values.js'
import { HandedOverError } from '../executors/handed-over.js'
import { admitKeyedTasks } from '../queue/admit-tasks.js'
import type { AttemptRef } from '../queue/attempt-fence.js'
import { type ClaimedTaskRun, claimTaskRuns, type TaskRunId } from '../queue/claim-task-runs.js'
import { endDueWaits, hasTimedWaits } from '../queue/end-wait.js'
import { registerPlans } from '../queue/register-pipelines.js'
import { releaseTaskRuns } from '../queue/release-task-runs.js'
import {
  CANCEL_CHANNEL,
  POOL_CHANNEL,
  QUEUE_CHANNEL,
  RUN_FINISHED_CHANNEL,
  TASK_KEY_CHANNEL,
} from '../queue/sql-values.js'
import { registerWorker, retireWorker, type WorkerRecord } from '../queue/workers.js'
import { startScheduler } from '../schedules/scheduler.js'
import type { Database } from '../store/database.js'
import { databaseErrorMessage } from '../store/database-error.js'
import { silentLog, type WorkerLog } from '../worker-log.js'
import { DEFAULT_XCOM_SIZE_LIMIT_BYTES, DEFAULT_XCOM_STORE_LIMIT_BYTES } from '../xcom-store/xcom-limit.js'
import type { XComOffload } from '../xcom-store/xcom-offload.js'
import { startAssetRuns } from './asset-runs-loop.js'
import { type AttemptEvent, AttemptRunner, eventOf, type PodExecutor } from './attempt-runner.js'
import { traceAttempt } from './attempt-span.js'
import { CallbackRunner } from './callback-runner.js'
import { startInputValues } from './input-values.js'
import { type LeaseKeeper, startLeaseKeeper } from './lease-keeper.js'
import { LoadedPipelines } from './loaded-pipelines.js'
import { LocalQueue } from './local-queue.js'
import { LogSink } from './log-sink.js'
import { startMaintenance } from './maintenance.js'
import { onFatalHandBack, runInAttemptScope, type TaskCrashError } from './task-faults.js'

export type { AttemptEvent, PodExecutor } from './attempt-runner.js'

/** How a worker batches its queue work: completions per transaction, claims ahead of free slots. */
export type QueueBatching = Pick<WorkerOptions, 'completionBatchMs' | 'claimAhead'>

export interface WorkerOptions {
  database: Database
  pipelines: readonly AnyPipeline[]
  /** Inline task runs processed at once. Default 4. */
  concurrency?: number
  /**
   * Pod task runs supervised at once, apart from `concurrency`: a pod task waits on its pod and holds
   * no inline slot, so one worker follows hundreds of pods while it runs inline work. Default 256.
   */
  podConcurrency?: number
  /** A claimed task run is this worker's for this long unless renewed. Default 30 s. */
  leaseMs?: number
  /** Default a third of the lease. */
  heartbeatMs?: number
  /**
   * Renew leases on a worker thread with a connection of its own, so a task that blocks the event
   * loop (synchronous CPU work) cannot cost the other tasks their leases. Default true on PostgreSQL;
   * the embedded store always renews inline (see lease-keeper.ts).
   */
  leaseThread?: boolean
  /**
   * After a timeout, a cancel or a crash, how long a task function that ignores its signal keeps its
   * slot and its lease before the attempt is recorded anyway (and a retry may start beside it). Default 10 s.
   */
  signalGraceMs?: number
  /**
   * Batched completion: how long (ms) the first attempt to end waits for others, so that one
   * transaction stores them all (each still fenced on its own). Waiting ends early when no other
   * inline attempt of this worker is running. 0 stores each ending in its own transaction. Default 2.
   */
  completionBatchMs?: number
  /**
   * Claim ahead: inline task runs claimed beyond the free slots and kept in a local queue (leased and
   * renewed like running ones, handed back on stop), so a freed slot starts the next task without a
   * round trip. At most this many, and only as many as the worker expects to start within 50 ms by
   * the recent durations of its tasks (none for tasks of a second or more). Their timeouts run from
   * the claim. 0 disables. Default 64.
   */
  claimAhead?: number
  /** Backstop poll when no NOTIFY arrives. Default 2 s. */
  pollMs?: number
  /** Default 5 s. */
  reconcileMs?: number
  /** How often pods whose task run no longer runs are deleted. Default 60 s. */
  orphanSweepMs?: number
  /** Retention: each reconcile deletes a few small batches of runs finished longer ago than this. Default off. */
  pruneOlderThanMs?: number
  /** Largest return_value stored. Default 1 MiB, or 5 GiB with an XCom store. */
  xcomSizeLimitBytes?: number
  /** Where values larger than `offloadBytes` go; without it every value lives in its row. */
  xcoms?: XComOffload
  /** How old an object no XCom row references must be before it is deleted; also how often. Default 1 h. */
  xcomOrphanGraceMs?: number
  /** Claim only task runs of this run (runLocal on a shared database). */
  runId?: string
  pods?: PodExecutor
  log?: WorkerLog
  /** Called after each claim with how many task runs it took and how long it took, for metrics. */
  onClaim?: (event: { count: number; durationMs: number }) => void
  /** Called when a claim fails (the worker keeps retrying): runLocal gives up on errors no retry can fix. */
  onClaimError?: (error: unknown) => void
  /** Called on each attempt start and end, for progress displays and metrics. */
  onAttempt?: (event: AttemptEvent) => void
  id?: string
}

/** The default of `podConcurrency`. */
export const DEFAULT_POD_CONCURRENCY = 256

/** A claimed task run this worker is running, or whose ending it is storing. */
interface Held {
  kind: ClaimedTaskRun['kind']
  ref: AttemptRef
  controller: AbortController
  done: Promise<void>
  /** Its task has returned and its ending waits to be stored: it no longer takes a slot. */
  ending: boolean
  began: number
}

/** The default of `concurrency`: inline task runs at once. */
export const DEFAULT_CONCURRENCY = 4

/** The default of `leaseMs`: how long a claim holds without renewal (renewed every third of it). */
export const DEFAULT_LEASE_MS = 30_000

/** The default of `claimAhead`: the most; how many the worker takes is set by its tasks' durations. */
export const DEFAULT_CLAIM_AHEAD = 64

/**
 * How long `stop()` lets running attempts finish before handing them back, unless told otherwise
 * (PODLINE_DRAIN_TIMEOUT_MS). The shipped Deployment's terminationGracePeriodSeconds (120) covers it.
 */
export const DEFAULT_DRAIN_MS = 60_000

/** The default of `completionBatchMs`. */
export const DEFAULT_COMPLETION_BATCH_MS = 2

/**
 * A worker: claims task runs of the pipeline versions it has loaded, runs them N at a time, keeps
 * their leases alive, completes them (fenced), and reconciles. `stop()` drains.
 *
 * This module is the claim loop and the lifecycle; an attempt runs in attempt-runner.ts, the
 * claimed-ahead task runs wait in local-queue.ts, the leases are kept by lease-keeper.ts and the
 * timers beside the loop are maintenance.ts.
 */
export class Worker {
  readonly id: string
  readonly #o: Required<
    Pick<
      WorkerOptions,
      | 'concurrency'
      | 'podConcurrency'
      | 'leaseMs'
      | 'heartbeatMs'
      | 'pollMs'
      | 'reconcileMs'
      | 'orphanSweepMs'
      | 'xcomSizeLimitBytes'
      | 'signalGraceMs'
      | 'completionBatchMs'
      | 'claimAhead'
    >
  > &
    WorkerOptions
  readonly #pipelines: LoadedPipelines
  readonly #record: WorkerRecord
  readonly #held = new Map<TaskRunId, Held>()
  /** Claimed ahead of a free slot (inline tasks only): leased, not yet started. */
  readonly #queue: LocalQueue
  readonly #attempts: AttemptRunner
  readonly #logs: LogSink
  readonly #log: WorkerLog
  #stopping = false
  #wake: (() => void) | undefined
  /** A wake-up that arrived while no one was waiting (mid-claim): the next wait returns at once. */
  #woken = false
  #loop: Promise<void> | undefined
  #maintenance: { stop(): void } | undefined
  #callbacks: CallbackRunner | undefined
  /** runLocal only: ends its run's waits past their time (a worker's scheduler pass does it otherwise). */
  #waitTimer: NodeJS.Timeout | undefined
  #inputValues: { stop(): Promise<void> } | undefined
  #assetRuns: { stop(): Promise<void> } | undefined
  #unlisten: Array<() => Promise<void>> = []
  #leases: LeaseKeeper | undefined
  #forgetHandBack: (() => void) | undefined
  #scheduler: { stop(): Promise<void>; wake(): void } | undefined
  claimed = 0

  constructor(options: WorkerOptions) {
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
    this.#o = {
      concurrency: DEFAULT_CONCURRENCY,
      podConcurrency: DEFAULT_POD_CONCURRENCY,
      heartbeatMs: Math.floor(leaseMs / 3),
      pollMs: 2000,
      reconcileMs: 5000,
      orphanSweepMs: 60_000,
      xcomSizeLimitBytes: options.xcoms ? DEFAULT_XCOM_STORE_LIMIT_BYTES : DEFAULT_XCOM_SIZE_LIMIT_BYTES,
      signalGraceMs: 10_000,
      completionBatchMs: DEFAULT_COMPLETION_BATCH_MS,
      claimAhead: DEFAULT_CLAIM_AHEAD,
      ...options,
      leaseMs,
    }
    this.id = options.id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
    this.#log = options.log ?? silentLog
    this.#logs = new LogSink(options.database, this.#log)
    this.#pipelines = new LoadedPipelines(options.pipelines)
    this.#queue = new LocalQueue({
      database: options.database,
      workerId: this.id,
      concurrency: this.#o.concurrency,
      claimAhead: this.#o.claimAhead,
      leases: () => this.#leases,
      log: this.#log,
    })
    this.#attempts = new AttemptRunner({
      database: options.database,
      workerId: this.id,
      pipelines: this.#pipelines,
      pods: options.pods,
      xcoms: options.xcoms,
      xcomSizeLimitBytes: this.#o.xcomSizeLimitBytes,
      signalGraceMs: this.#o.signalGraceMs,
      leaseMs,
      completionBatchMs: this.#o.completionBatchMs,
      logs: this.#logs,
      log: this.#log,
      onAttempt: options.onAttempt,
      slots: {
        idle: () => {
          for (const h of this.#held.values()) if (h.kind === 'task' && !h.ending) return false
          return true
        },
        returned: (c) => this.#returned(c),
        dropQueued: (runId) => this.#queue.drop((a) => a.runId === runId),
        wakeUp: () => this.#wakeUp(),
      },
    })
    this.#record = {
      id: this.id,
      hostname: hostname(),
      pid: process.pid,
      versions: this.#pipelines.versions,
      concurrency: this.#o.concurrency,
      leaseMs,
    }
  }

  get running(): number {
    return this.#held.size
  }

  /** Registers the pipelines, subscribes to wake-ups and starts claiming. */
  async start(): Promise<void> {
    const { database } = this.#o
    await registerPlans(
      database,
      this.#o.pipelines.map((p) => p.plan()),
    )
    await registerWorker(database, this.#record)
    // The queue's NOTIFY carries the version of the work: only workers that serve it wake up.
    this.#unlisten.push(
      await database.listen(QUEUE_CHANNEL, (version) => {
        if (!version || this.#pipelines.versions.includes(version)) this.#wakeUp()
      }),
    )
    this.#unlisten.push(
      await database.listen(CANCEL_CHANNEL, (runId) => this.#abortRun(runId, 'the run was cancelled')),
    )
    // A pool's slots came back: a worker serving its tasks claims again rather than wait for its poll.
    if (this.#pipelines.poolLanes.length > 0)
      this.#unlisten.push(
        await database.listen(POOL_CHANNEL, (pool) => {
          if (this.#pipelines.usesPool(pool)) this.#wakeUp()
        }),
      )
    const leases = await startLeaseKeeper({
      database,
      worker: this.#record,
      heartbeatMs: this.#o.heartbeatMs,
      ...(this.#o.leaseThread === undefined ? {} : { thread: this.#o.leaseThread }),
      log: this.#log,
      onLost: (id, reason) => {
        this.#held.get(id)?.controller.abort(reason)
        this.#queue.drop((c) => c.id === id)
      },
    })
    this.#leases = leases
    this.#forgetHandBack = onFatalHandBack(() => {
      // No claim after this: one woken by the hand-back's own NOTIFY would take the released task
      // runs again, for a process about to die, and they would wait out its lease.
      this.#stopping = true
      return Promise.all([
        this.#release([...this.#held.keys()]),
        this.#queue.returnMatching(() => true),
      ]).then(() => {})
    })
    this.#maintenance = startMaintenance({
      database,
      workerId: this.id,
      pipelines: this.#o.pipelines,
      leases,
      reconcileMs: this.#o.reconcileMs,
      orphanSweepMs: this.#o.orphanSweepMs,
      pruneOlderThanMs: this.#o.pruneOlderThanMs,
      xcoms: this.#o.xcoms,
      collectXComs: !this.#o.runId,
      xcomOrphanGraceMs: this.#o.xcomOrphanGraceMs,
      pods: this.#o.pods,
      log: this.#log,
    })
    this.#loop = this.#claimLoop()
    // Keys and priorities that read a task's inputs are computed once those exist, by any worker with the code.
    this.#inputValues = await startInputValues({
      database,
      pipelines: this.#pipelines,
      ...(this.#o.xcoms ? { xcoms: this.#o.xcoms } : {}),
      workerId: this.id,
      log: this.#log,
    })
    // A runLocal worker schedules nothing, but its run's waits that end by time must end, and its
    // task runs with concurrency keys must be admitted. The plans once: plan() clones its plan at each call.
    const localPlans = this.#o.runId ? this.#o.pipelines.map((p) => p.plan()) : []
    const timed = localPlans.filter(hasTimedWaits)
    const keyed = localPlans.filter(hasKeyedTasks).map((p) => p.name)
    if (timed.length > 0 || keyed.length > 0) {
      const pass = () => {
        if (timed.length > 0)
          endDueWaits(database, timed).catch((error: unknown) =>
            this.#log('warn', `ending waits past their time failed: ${databaseErrorMessage(error)}`),
          )
        for (const name of keyed)
          database.db
            .transaction((tx) => admitKeyedTasks(database, tx, name))
            .catch((error: unknown) =>
              this.#log('warn', `admitting task runs by their keys failed: ${databaseErrorMessage(error)}`),
            )
      }
      this.#waitTimer = setInterval(pass, WAIT_PASS_MS)
      if (keyed.length > 0)
        this.#unlisten.push(
          await database.listen(TASK_KEY_CHANNEL, (pipeline) => {
            if (keyed.includes(pipeline)) pass()
          }),
        )
    }
    // Every worker schedules (a unique index keeps each tick to one run); a runLocal worker does not.
    if (!this.#o.runId) {
      // Runs from asset events: each event's once (queue/asset-runs.ts), by any worker with the code.
      this.#assetRuns = await startAssetRuns({ database, pipelines: this.#o.pipelines, log: this.#log })
      const scheduler = startScheduler({
        database,
        pipelines: this.#o.pipelines,
        workerId: this.id,
        log: this.#log,
      })
      this.#scheduler = scheduler
      // A run that ends frees a slot of maxActiveRuns or of its concurrency key: admit the next now.
      const plans = this.#o.pipelines.map((p) => p.plan())
      if (plans.some(isLimited))
        this.#unlisten.push(await database.listen(RUN_FINISHED_CHANNEL, () => scheduler.wake()))
      // A task run with a key was queued, or one left its place: admit the next now.
      const keyed = new Set(plans.filter(hasKeyedTasks).map((p) => p.name))
      if (keyed.size > 0)
        this.#unlisten.push(
          await database.listen(TASK_KEY_CHANNEL, (pipeline) => {
            if (keyed.has(pipeline)) scheduler.wake()
          }),
        )
    }
    this.#callbacks = new CallbackRunner({
      database,
      workerId: this.id,
      pipelines: this.#o.pipelines,
      ...(this.#o.runId ? { runId: this.#o.runId } : {}),
      leaseMs: this.#o.leaseMs,
      log: this.#log,
    })
    await this.#callbacks.start()
    this.#log('info', `worker ${this.id} started`, {
      versions: this.#pipelines.versions,
      concurrency: this.#o.concurrency,
      podConcurrency: this.#o.podConcurrency,
    })
  }

  /**
   * Stops claiming, lets running attempts finish for up to `drainMs`, then aborts what is left and
   * releases it back to the queue (the lease is dropped so another worker takes it at once).
   */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    this.#wakeUp()
    await this.#scheduler?.stop()
    const callbacksStopped = this.#callbacks?.stop(options.drainMs ?? DEFAULT_DRAIN_MS)
    await this.#loop
    // What was claimed ahead never started: back to the queue at once, for another worker.
    await this.#queue.returnMatching(() => true)
    const drained = Promise.all([...this.#held.values()].map((h) => h.done))
    const timeout = new Promise<'timeout'>((r) =>
      setTimeout(r, options.drainMs ?? DEFAULT_DRAIN_MS, 'timeout').unref(),
    )
    if ((await Promise.race([drained, timeout])) === 'timeout') {
      const reason = new HandedOverError('the worker is shutting down; the attempt goes back to the queue')
      for (const h of this.#held.values()) h.controller.abort(reason)
      await this.#release([...this.#held.keys()])
      await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())])
    }
    this.#maintenance?.stop()
    clearInterval(this.#waitTimer)
    await this.#inputValues?.stop()
    await this.#assetRuns?.stop()
    await callbacksStopped
    await this.#leases?.stop()
    this.#forgetHandBack?.()
    for (const unlisten of this.#unlisten) await unlisten().catch(() => {})
    await this.#logs.flush()
    await this.#o.pods?.close?.()
    await retireWorker(this.#o.database, this.id).catch(() => {})
    this.#log('info', `worker ${this.id} stopped`)
  }

  #wakeUp(): void {
    const wake = this.#wake
    this.#wake = undefined
    if (wake) wake()
    else this.#woken = true
  }

  async #claimLoop(): Promise<void> {
    const backoff = new Backoff(100, 5000)
    /**
     * A claim whose leases ran out before it came back: this worker's database is slower than its
     * lease. It waits before claiming again, longer each time, so that the work it hands back goes
     * to a worker that can start it instead of lapsing here claim after claim.
     */
    const lapseBackoff = new Backoff(250, 2000)
    while (!this.#stopping) {
      // Each kind is claimed up to its own free slots (inline tasks: concurrency; pods: podConcurrency).
      this.#startQueued()
      const wanted = this.#pipelines.kinds
        .map((kind) => ({
          kind,
          startNow: this.#freeSlots(kind),
          free: this.#freeSlots(kind) + this.#queueRoom(kind),
        }))
        .filter((w) => w.free > 0)
      /** True when some claim took all it asked for: more may be queued. */
      let full = false
      /** How many task runs came back from the claims with their leases run out. */
      let lapsedCount = 0
      if (wanted.length > 0) {
        this.#woken = false
        try {
          for (const { kind, free, startNow } of wanted) {
            const began = performance.now()
            // Each lease runs from before the claim was sent: the server set its expiry after that.
            const sentAt = Date.now()
            // Those that ended already are left out: their completion records the start.
            const started =
              kind === 'task' ? this.#queue.takeStarted((id) => this.#held.get(id)?.ending === false) : []
            const batch = await claimTaskRuns(this.#o.database, {
              workerId: this.id,
              versions: this.#pipelines.versions,
              limit: free,
              kind,
              leaseMs: this.#o.leaseMs,
              startNow,
              started,
              pools: this.#pipelines.poolLanes,
              ...(this.#o.runId ? { runId: this.#o.runId } : {}),
            }).catch((error: unknown) => {
              this.#queue.restoreStarted(started)
              throw error
            })
            this.#o.onClaim?.({ count: batch.length, durationMs: performance.now() - began })
            this.claimed += batch.length
            for (const claimed of batch) this.#leases?.hold(claimed.id, sentAt)
            const lapsed: ClaimedTaskRun[] = []
            for (const claimed of batch) {
              if (this.#queue.leaseLapsed(claimed)) lapsed.push(claimed)
              else if (this.#freeSlots(kind) > 0) this.#startAttempt(claimed)
              else this.#queue.push(claimed)
            }
            if (lapsed.length > 0) void this.#queue.handBack(lapsed)
            lapsedCount += lapsed.length
            full ||= batch.length === free
          }
          backoff.reset()
          if (lapsedCount > 0) {
            const delay = lapseBackoff.next()
            this.#log(
              'warn',
              `${lapsedCount} task runs came back from a claim after their lease of ${this.#o.leaseMs} ms ran out; handed back, claiming again in ${delay} ms`,
            )
            await sleep(delay)
            continue
          }
          lapseBackoff.reset()
        } catch (error) {
          // The database restarted or the network dropped: keep trying, never crash the worker.
          this.#o.onClaimError?.(error)
          const delay = backoff.next()
          this.#log('warn', `claim failed, retrying in ${delay} ms: ${databaseErrorMessage(error)}`)
          await sleep(delay)
          continue
        }
      }
      if (this.#stopping || (wanted.length > 0 && (this.#woken || full))) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.#wakeUp(), this.#o.pollMs)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  #freeSlots(kind: ClaimedTaskRun['kind']): number {
    let held = 0
    for (const h of this.#held.values()) if (h.kind === kind && !h.ending) held++
    return (kind === 'pod' ? this.#o.podConcurrency : this.#o.concurrency) - held
  }

  /** How many more inline task runs may be claimed ahead. Pods are not: a slot for one is rarely short. */
  #queueRoom(kind: ClaimedTaskRun['kind']): number {
    if (kind !== 'task' || this.#stopping) return 0
    return this.#queue.room()
  }

  /** Fills free slots from the local queue; the claim loop is woken to refill it. */
  #startQueued(): number {
    return this.#queue.startWhile(
      () => this.#freeSlots('task') > 0 && !this.#stopping,
      (c) => this.#startAttempt(c),
    )
  }

  /** An attempt's task has returned: its slot is free for the next while its ending is stored (still leased). */
  #returned(c: ClaimedTaskRun): void {
    const held = this.#held.get(c.id)
    if (held) {
      held.ending = true
      if (held.kind === 'task') this.#queue.recordDuration(performance.now() - held.began)
    }
    // A claim now may take other work while the ending is stored. Not for a task that others
    // need: what it queues is known only once it is stored (whose NOTIFY wakes the loop), and a
    // claim in flight meanwhile would find nothing and delay the claim that matters.
    if (this.#startQueued() > 0 || c.isLeaf) this.#wakeUp()
  }

  #startAttempt(c: ClaimedTaskRun): void {
    const ref: AttemptRef = {
      id: c.id,
      runId: c.runId,
      task: c.task,
      attempt: c.attempt,
      claim: c.claim,
      workerId: this.id,
      isLeaf: c.isLeaf,
      soleTask: this.#pipelines.isSoleTask(c),
      mapIndex: c.mapIndex,
    }
    const controller = new AbortController()
    const held: Held = {
      kind: c.kind,
      ref,
      controller,
      done: Promise.resolve(),
      ending: false,
      began: performance.now(),
    }
    this.#held.set(c.id, held)
    this.#leases?.hold(c.id)
    this.#o.onAttempt?.({ type: 'started', ...eventOf(c) })
    // The attempt's scope lets the process's fault handlers (task-faults.ts) fail this attempt, and
    // only this one, for an error its code raised outside its promise chain.
    const scope = {
      task: c.task,
      runId: c.runId,
      fail: (error: TaskCrashError) => {
        if (this.#held.get(c.id) === held) controller.abort(error)
        else this.#log('warn', `after its attempt ended, ${error.message}`, { runId: c.runId, task: c.task })
      },
    }
    held.done = traceAttempt(c, this.id, () =>
      runInAttemptScope(scope, () => this.#attempts.run(c, ref, controller)),
    ).finally(() => {
      this.#held.delete(c.id)
      this.#leases?.drop(c.id)
      // A slot freed only now, or a start from the local queue, calls for a claim. An ending whose
      // slot was freed at its hand-over does not: what it queues wakes the loop by its NOTIFY, and a
      // second claim beside that one would find nothing and hold up the next.
      if (this.#startQueued() > 0 || !held.ending) this.#wakeUp()
    })
  }

  #abortRun(runId: string, reason: string): void {
    for (const h of this.#held.values()) if (h.ref.runId === runId) h.controller.abort(new Error(reason))
    // The cancel ended them in the database already; they never start here.
    this.#queue.drop((c) => c.runId === runId)
  }

  async #release(ids: TaskRunId[]): Promise<void> {
    await releaseTaskRuns(this.#o.database, this.id, ids).catch((error: Error) => {
      this.#log(
        'warn',
        `could not release ${ids.length} task runs (their leases will expire): ${databaseErrorMessage(error)}`,
      )
    })
  }
}

/** How often a runLocal worker looks for its waits past their time, as the scheduler pass does. */
const WAIT_PASS_MS = 1000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
