import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import {
  type AnyPipeline,
  SchemaValidationError,
  type TaskContext,
  type TaskDefinition,
  validateWith,
} from '@podline/sdk'
import { Backoff } from '../backoff.js'
import { TaskFailure } from '../executors/task-execution.js'
import { declaredPodNamespaces } from '../pods/declared-namespaces.js'
import type { PodExecutor as PodsExecutor } from '../pods/pod-executor.js'
import { type ClaimedTaskRun, claimTaskRuns, type TaskRunId } from '../queue/claim-task-runs.js'
import { failRunOnParams } from '../queue/fail-run-params.js'
import {
  type AttemptOutcome,
  type AttemptRef,
  finishAttempt,
  LeaseLostError,
  putXcom,
} from '../queue/finish-attempt.js'
import { isTaskRunRunning } from '../queue/heartbeat.js'
import { pruneSweep } from '../queue/prune.js'
import { reconcile } from '../queue/reconcile.js'
import { registerPlans } from '../queue/register-pipelines.js'
import { releaseTaskRuns, returnUnstarted } from '../queue/release-task-runs.js'
import { CANCEL_CHANNEL, QUEUE_CHANNEL } from '../queue/sql-values.js'
import { registerWorker, retireWorker, type WorkerRecord } from '../queue/workers.js'
import { startScheduler } from '../schedules/scheduler.js'
import { scheduleTick } from '../schedules/ticks.js'
import type { Database } from '../store/database.js'
import { collectOrphanXComs, deleteRunObjects } from '../xcom-store/collect-orphans.js'
import { offloadOutcome, resolveTaskInputs, type XComOffload } from '../xcom-store/offload-outcome.js'
import { podXComTransfers } from '../xcom-store/pod-transfers.js'
import { failureOutcome, successOutcome } from './attempt-outcome.js'
import { type AttemptEnd, traceAttempt } from './attempt-span.js'
import { AttemptTimeout, TaskTimeoutError, whileStoring } from './attempt-timeout.js'
import { CompletionBatch } from './completion-batch.js'
import { databaseErrorMessage, isPermanentDatabaseError } from './database-error.js'
import { ClaimInputs } from './item-inputs.js'
import { type LeaseKeeper, startLeaseKeeper } from './lease-keeper.js'
import { LogSink, silentLog, type WorkerLog } from './log-sink.js'
import { expandOver, MapExpansion } from './map-expansion.js'
import { assertStorable } from './storable-text.js'
import { onFatalHandBack, runInAttemptScope, TaskCrashError } from './task-faults.js'
import { DEFAULT_XCOM_SIZE_LIMIT_BYTES, DEFAULT_XCOM_STORE_LIMIT_BYTES } from './xcom-limit.js'

/**
 * What the worker needs of a pod runtime: the pods module's executor (the Kubernetes launcher or the
 * process runtime), of which only `execute` is required. Imported as a type only: the pods module
 * loads the Kubernetes client, which a worker without pod tasks never loads.
 */
export type PodExecutor = Pick<PodsExecutor, 'execute'> &
  Partial<Pick<PodsExecutor, 'collectOrphans' | 'close'>>

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

/** `mapIndex`: the item of a mapped task the attempt ran; absent for a task's own row. */
export type AttemptEvent =
  | { type: 'started'; runId: string; pipeline: string; task: string; attempt: number; mapIndex?: number }
  | {
      type: 'finished'
      runId: string
      pipeline: string
      task: string
      attempt: number
      mapIndex?: number
      state: AttemptOutcome['state'] | 'lost'
      error?: string
    }

/** The default of `podConcurrency`. */
export const DEFAULT_POD_CONCURRENCY = 256

interface Held {
  kind: ClaimedTaskRun['kind']
  ref: AttemptRef
  controller: AbortController
  done: Promise<void>
  /** Its task has returned and its ending waits to be stored: it no longer takes a slot. */
  ending: boolean
  began: number
}

/** The default of `claimAhead`: the most; how many the worker takes is set by its tasks' durations. */
export const DEFAULT_CLAIM_AHEAD = 64
/**
 * Claim ahead takes no more than the worker expects to start within this long, from the recent
 * durations of its inline tasks: short tasks fill the local queue, tasks of a second or more leave it
 * empty (their claim's round trip is nothing beside them, and another worker may be idle).
 */
const CLAIM_AHEAD_HORIZON_MS = 50

/**
 * How long `stop()` lets running attempts finish before handing them back, unless told otherwise
 * (PODLINE_DRAIN_TIMEOUT_MS). The shipped Deployment's terminationGracePeriodSeconds (120) covers it.
 */
export const DEFAULT_DRAIN_MS = 60_000

/** The default of `completionBatchMs`. */
export const DEFAULT_COMPLETION_BATCH_MS = 2
/** Endings one transaction stores at most. */
const MAX_COMPLETION_BATCH = 256

/**
 * A worker: claims task runs of the pipeline versions it has loaded, runs them N at a time, keeps
 * their leases alive, completes them (fenced), and reconciles. `stop()` drains.
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
  readonly #tasks = new Map<string, { pipeline: AnyPipeline; def: TaskDefinition }>()
  readonly #versions: string[]
  /** The kinds of task the loaded pipelines have: a worker without pod tasks never claims for pods. */
  readonly #kinds: Array<ClaimedTaskRun['kind']>
  readonly #record: WorkerRecord
  readonly #held = new Map<TaskRunId, Held>()
  /** Claimed ahead of a free slot (inline tasks only), oldest first: leased, not yet started. */
  #ahead: ClaimedTaskRun[] = []
  /** The inputs of claimed task runs; a mapped task's items share theirs, read once. */
  readonly #inputs: ClaimInputs
  /** The recent inline tasks' durations (moving average, ms); none measured yet: no claim ahead. */
  #taskMs: number | undefined
  /** Claimed ahead and started since the last claim, which records their start (started_at). */
  #startedAhead: TaskRunId[] = []
  readonly #completions: CompletionBatch
  readonly #params = new Map<string, Promise<unknown>>()
  readonly #logs: LogSink
  readonly #log: WorkerLog
  #stopping = false
  #wake: (() => void) | undefined
  /** A wake-up that arrived while no one was waiting (mid-claim): the next wait returns at once. */
  #woken = false
  #loop: Promise<void> | undefined
  #timers: NodeJS.Timeout[] = []
  #unlisten: Array<() => Promise<void>> = []
  #leases: LeaseKeeper | undefined
  #forgetHandBack: (() => void) | undefined
  #scheduler: { stop(): Promise<void> } | undefined
  #lastOrphanSweep = 0
  #collectingXComs = false
  claimed = 0

  constructor(options: WorkerOptions) {
    this.#inputs = new ClaimInputs(options.database)
    const leaseMs = options.leaseMs ?? 30_000
    this.#o = {
      concurrency: 4,
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
    this.#completions = new CompletionBatch({
      database: options.database,
      workerId: this.id,
      windowMs: this.#o.completionBatchMs,
      maxSize: MAX_COMPLETION_BATCH,
      idle: () => {
        for (const h of this.#held.values()) if (h.kind === 'task' && !h.ending) return false
        return true
      },
    })
    const versions = new Set<string>()
    for (const p of options.pipelines) {
      const version = p.plan().version
      versions.add(version)
      for (const def of p.tasks) this.#tasks.set(`${version}\0${def.name}`, { pipeline: p, def })
    }
    this.#versions = [...versions]
    const kinds = new Set([...this.#tasks.values()].map((t) => t.def.kind))
    this.#kinds = (['task', 'pod'] as const).filter((kind) => kinds.has(kind))
    this.#record = {
      id: this.id,
      hostname: hostname(),
      pid: process.pid,
      versions: this.#versions,
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
        if (!version || this.#versions.includes(version)) this.#wakeUp()
      }),
    )
    this.#unlisten.push(
      await database.listen(CANCEL_CHANNEL, (runId) => this.#abortRun(runId, 'the run was cancelled')),
    )
    this.#leases = await startLeaseKeeper({
      database,
      worker: this.#record,
      heartbeatMs: this.#o.heartbeatMs,
      ...(this.#o.leaseThread === undefined ? {} : { thread: this.#o.leaseThread }),
      log: this.#log,
      onLost: (id, reason) => {
        this.#held.get(id)?.controller.abort(reason)
        this.#dropAhead((c) => c.id === id)
      },
    })
    this.#forgetHandBack = onFatalHandBack(() => {
      // No claim after this: one woken by the hand-back's own NOTIFY would take the released task
      // runs again, for a process about to die, and they would wait out its lease.
      this.#stopping = true
      return Promise.all([this.#release([...this.#held.keys()]), this.#returnAhead(() => true)]).then(
        () => {},
      )
    })
    this.#timers.push(setInterval(() => void this.#reconcile(), this.#o.reconcileMs))
    const xcoms = this.#o.xcoms
    if (xcoms && !this.#o.runId) {
      const graceMs = this.#o.xcomOrphanGraceMs ?? 3_600_000
      this.#timers.push(setInterval(() => void this.#collectXComs(xcoms, graceMs), graceMs))
    }
    this.#loop = this.#claimLoop()
    // Every worker schedules (a unique index keeps each tick to one run); a runLocal worker does not.
    if (!this.#o.runId)
      this.#scheduler = startScheduler({ database, pipelines: this.#o.pipelines, log: this.#log })
    this.#log('info', `worker ${this.id} started`, {
      versions: this.#versions,
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
    await this.#loop
    // What was claimed ahead never started: back to the queue at once, for another worker.
    await this.#returnAhead(() => true)
    const drained = Promise.all([...this.#held.values()].map((h) => h.done))
    const timeout = new Promise<'timeout'>((r) => setTimeout(r, options.drainMs ?? DEFAULT_DRAIN_MS, 'timeout').unref())
    if ((await Promise.race([drained, timeout])) === 'timeout') {
      for (const h of this.#held.values()) h.controller.abort(new Error('the worker is shutting down'))
      await this.#release([...this.#held.keys()])
      await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())])
    }
    for (const t of this.#timers) clearInterval(t)
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
    while (!this.#stopping) {
      // Each kind is claimed up to its own free slots (inline tasks: concurrency; pods: podConcurrency).
      this.#startAhead()
      const wanted = this.#kinds
        .map((kind) => ({
          kind,
          startNow: this.#freeSlots(kind),
          free: this.#freeSlots(kind) + this.#aheadRoom(kind),
        }))
        .filter((w) => w.free > 0)
      /** True when some claim took all it asked for: more may be queued. */
      let full = false
      if (wanted.length > 0) {
        this.#woken = false
        try {
          for (const { kind, free, startNow } of wanted) {
            const began = performance.now()
            // Each lease runs from before the claim was sent: the server set its expiry after that.
            const sentAt = Date.now()
            // Those that ended already are left out: their completion records the start.
            const started =
              kind === 'task'
                ? this.#startedAhead.splice(0).filter((id) => this.#held.get(id)?.ending === false)
                : []
            const batch = await claimTaskRuns(this.#o.database, {
              workerId: this.id,
              versions: this.#versions,
              limit: free,
              kind,
              leaseMs: this.#o.leaseMs,
              startNow,
              started,
              ...(this.#o.runId ? { runId: this.#o.runId } : {}),
            }).catch((error: unknown) => {
              this.#startedAhead.push(...started)
              throw error
            })
            this.#o.onClaim?.({ count: batch.length, durationMs: performance.now() - began })
            this.claimed += batch.length
            for (const claimed of batch) this.#leases?.hold(claimed.id, sentAt)
            const lapsed: ClaimedTaskRun[] = []
            for (const claimed of batch) {
              if (this.#leaseLapsed(claimed)) lapsed.push(claimed)
              else if (this.#freeSlots(kind) > 0) this.#startAttempt(claimed)
              else this.#ahead.push(claimed)
            }
            if (lapsed.length > 0) void this.#returnUnstarted(lapsed)
            full ||= batch.length === free
          }
          backoff.reset()
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
  #aheadRoom(kind: ClaimedTaskRun['kind']): number {
    if (kind !== 'task' || this.#stopping || this.#taskMs === undefined) return 0
    const startable = Math.floor(
      (this.#o.concurrency * CLAIM_AHEAD_HORIZON_MS) / Math.max(this.#taskMs, 0.01),
    )
    return Math.max(0, Math.min(this.#o.claimAhead, startable) - this.#ahead.length)
  }

  /** Fills free slots from the local queue; the claim loop is woken to refill it. */
  #startAhead(): number {
    let started = 0
    const lapsed: ClaimedTaskRun[] = []
    while (this.#ahead.length > 0 && this.#freeSlots('task') > 0 && !this.#stopping) {
      const next = this.#ahead.shift() as ClaimedTaskRun
      if (this.#leaseLapsed(next)) {
        lapsed.push(next)
        continue
      }
      this.#startedAhead.push(next.id)
      this.#startAttempt(next)
      started++
    }
    if (lapsed.length > 0) void this.#returnUnstarted(lapsed)
    return started
  }

  /**
   * Whether a claimed task run's lease may have run out before it starts (a slow claim, a renewal
   * that has not reached it yet): another worker may take it over any moment, so it never starts
   * here. It goes back to the queue; if it was taken already, that return changes nothing (fenced).
   */
  #leaseLapsed(c: ClaimedTaskRun): boolean {
    return (this.#leases?.leaseLeftMs(c.id) ?? Number.POSITIVE_INFINITY) <= 0
  }

  /** Takes the claimed-ahead task runs that match out of the local queue. */
  #dropAhead(match: (c: ClaimedTaskRun) => boolean): ClaimedTaskRun[] {
    const dropped = this.#ahead.filter(match)
    if (dropped.length === 0) return []
    this.#ahead = this.#ahead.filter((c) => !match(c))
    for (const c of dropped) this.#leases?.drop(c.id)
    return dropped
  }

  /** Hands the claimed-ahead task runs that match back to the queue, their claims undone. */
  async #returnAhead(match: (c: ClaimedTaskRun) => boolean): Promise<void> {
    await this.#returnUnstarted(this.#dropAhead(match))
  }

  async #returnUnstarted(returned: ClaimedTaskRun[]): Promise<void> {
    for (const c of returned) this.#leases?.drop(c.id)
    await returnUnstarted(this.#o.database, this.id, returned).catch((error: Error) => {
      this.#log(
        'warn',
        `could not return ${returned.length} unstarted task runs (their leases will expire): ${databaseErrorMessage(error)}`,
      )
    })
  }

  /**
   * Whether the task run is its run's only one: the pipeline has one task, not mapped (a mapped
   * task's items are task runs of its run too). Known from the loaded plan, so the claim reads nothing.
   */
  #isSoleTask(c: ClaimedTaskRun): boolean {
    const p = this.#tasks.get(`${c.version}\0${c.task}`)?.pipeline
    return p !== undefined && p.tasks.length === 1 && p.tasks[0]?.map === undefined
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
      soleTask: this.#isSoleTask(c),
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
    this.#o.onAttempt?.({
      type: 'started',
      runId: c.runId,
      pipeline: c.pipeline,
      task: c.task,
      attempt: c.attempt,
      ...(c.mapIndex === null ? {} : { mapIndex: c.mapIndex }),
    })
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
      runInAttemptScope(scope, () => this.#runAttempt(c, ref, controller)),
    ).finally(() => {
      this.#held.delete(c.id)
      this.#leases?.drop(c.id)
      // A slot freed only now, or a start from the local queue, calls for a claim. An ending whose
      // slot was freed at its hand-over does not: what it queued wakes the loop by its NOTIFY, and a
      // second claim beside that one would find nothing and hold up the next.
      if (this.#startAhead() > 0 || !held.ending) this.#wakeUp()
    })
  }

  async #runAttempt(c: ClaimedTaskRun, ref: AttemptRef, controller: AbortController): Promise<AttemptEnd> {
    const found = this.#tasks.get(`${c.version}\0${c.task}`)
    let outcome: AttemptOutcome
    /** The task's own function, still running after its signal fired when it ignores the signal. */
    let running: Promise<unknown> = Promise.resolve()
    let badParams: string | undefined
    /** What the executor asked to do once the outcome is stored (a pod task's pod deletion). */
    const afterRecorded: Array<() => Promise<void>> = []
    if (!found) {
      outcome = {
        state: 'failed',
        error: `this worker has no task "${c.task}" in ${c.pipeline}@${c.version}`,
      }
    } else {
      const { pipeline, def } = found
      // The deadline is the attempt's, from the database: a takeover keeps what is left of it.
      const timeout = new AttemptTimeout(controller, c.timeoutMs, c.msToDeadline, c.task, c.attempt)
      try {
        const params = await this.#paramsOf(pipeline, c).catch((error: unknown) => {
          if (!(error instanceof SchemaValidationError)) throw error
          // The params are the run's, not this task's: the whole run fails, and no retry can help.
          badParams = `${error.message}; the run cannot start`
          throw new TaskFailure(badParams, 'fatal')
        })
        const log = this.#logs.forTask(c.runId, c.task, c.attempt, c.mapIndex)
        const ctx: TaskContext<unknown> = {
          params,
          signal: controller.signal,
          runId: c.runId,
          attempt: c.attempt,
          pipeline: c.pipeline,
          task: c.task,
          log,
          mapIndex: c.mapIndex ?? undefined,
          schedule:
            c.logicalDate === null
              ? undefined
              : scheduleTick(
                  pipeline.schedule?.timezone ?? 'UTC',
                  new Date(c.logicalDate),
                  new Date(c.intervalStart ?? c.logicalDate),
                ),
        }
        const aborted = new Promise<never>((_, reject) => {
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })
        })
        aborted.catch(() => {})
        timeout.start()
        // The store's calls are inside the task's time: a hung store ends with the attempt's
        // signal (its timeout, a cancel), not after it.
        const inputs = await whileStoring(
          this.#inputs.of(c, (stored) => resolveTaskInputs(this.#o.xcoms, stored, mappedTasksOf(pipeline))),
          aborted,
          'reading its inputs from',
          this.#o.xcoms,
        )
        running = Promise.resolve().then(() =>
          this.#execute(def, { ...c, inputs: inputs.resolved }, ctx, ref, afterRecorded, inputs.stored),
        )
        // A task that ignores its signal still ends here: the attempt is decided when the signal fires.
        const value = await Promise.race([running, aborted])
        // Synchronous work can outlast the timeout without letting its timer fire: judged on return.
        timeout.checkOnReturn()
        outcome =
          value instanceof MapExpansion
            ? { state: 'expanded', items: value.items }
            : await whileStoring(
                offloadOutcome(this.#o.xcoms, ref, successOutcome(c.task, value, this.#o.xcomSizeLimitBytes)),
                aborted,
                'writing its output to',
                this.#o.xcoms,
              )
      } catch (error) {
        outcome = failureOutcome(error, c)
      } finally {
        timeout.clear()
      }
    }
    if (controller.signal.aborted) await this.#untilSettled(running)
    const reason: unknown = controller.signal.reason
    if (
      controller.signal.aborted &&
      !(reason instanceof TaskTimeoutError || reason instanceof TaskCrashError)
    ) {
      // Cancelled, lease lost or shutting down: someone else decides this attempt.
      this.#o.onAttempt?.({
        type: 'finished',
        runId: c.runId,
        pipeline: c.pipeline,
        task: c.task,
        attempt: c.attempt,
        ...(c.mapIndex === null ? {} : { mapIndex: c.mapIndex }),
        state: 'lost',
      })
      return { state: 'lost' }
    }
    await this.#logs.flush()
    // The run's tasks this worker claimed ahead never start: they fail with the others, unstarted
    // (below), and the slot stays taken until then, so that no other task of the run is claimed.
    const unstarted = badParams ? this.#dropAhead((a) => a.runId === c.runId) : []
    if (!badParams) {
      // The task has returned: its slot is free for the next while its ending is stored (still leased).
      const held = this.#held.get(c.id)
      if (held) {
        held.ending = true
        if (held.kind === 'task') {
          const ms = performance.now() - held.began
          this.#taskMs = this.#taskMs === undefined ? ms : 0.8 * this.#taskMs + 0.2 * ms
        }
      }
      // A claim now may take other work while the ending is stored. Not for a task that others
      // need: what it queues is known only once it is stored (whose NOTIFY wakes the loop), and a
      // claim in flight meanwhile would find nothing and delay the claim that matters.
      if (this.#startAhead() > 0 || c.isLeaf) this.#wakeUp()
    }
    const state = await this.#finish(ref, outcome)
    if (state !== 'lost') {
      for (const cleanup of afterRecorded)
        await cleanup().catch((error: unknown) =>
          this.#log(
            'warn',
            `after attempt ${c.attempt} of ${c.task} was stored: ${(error as Error).message}`,
            {
              runId: c.runId,
              task: c.task,
            },
          ),
        )
    }
    if (badParams && state === 'failed') {
      await failRunOnParams(this.#o.database, c.runId, badParams, this.id, unstarted).catch(
        (error: unknown) =>
          this.#log('warn', `could not fail run ${c.runId} on its params: ${databaseErrorMessage(error)}`),
      )
    } else if (unstarted.length > 0) {
      await returnUnstarted(this.#o.database, this.id, unstarted).catch(() => {})
    }
    this.#o.onAttempt?.({
      type: 'finished',
      runId: c.runId,
      pipeline: c.pipeline,
      task: c.task,
      attempt: c.attempt,
      ...(c.mapIndex === null ? {} : { mapIndex: c.mapIndex }),
      state,
      ...('error' in outcome ? { error: outcome.error } : {}),
    })
    return { state, ...('error' in outcome ? { error: outcome.error } : {}) }
  }

  /**
   * A task function whose signal fired but which goes on running keeps its slot and its lease for up
   * to `signalGraceMs`, so its retry (here or on another worker) does not start beside it; past that
   * the attempt is recorded anyway and the two may overlap (docs/sdk.md says so).
   */
  async #untilSettled(running: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<'grace'>((resolve) => {
      timer = setTimeout(resolve, this.#o.signalGraceMs, 'grace')
    })
    const settled = running.then(
      () => 'settled' as const,
      () => 'settled' as const,
    )
    if ((await Promise.race([settled, grace])) === 'grace') {
      this.#log(
        'warn',
        `a task ignored its signal for ${this.#o.signalGraceMs} ms; its slot is freed while it still runs`,
      )
    }
    clearTimeout(timer)
  }

  async #execute(
    def: TaskDefinition,
    c: ClaimedTaskRun & { inputs: Record<string, unknown> },
    ctx: TaskContext<unknown>,
    ref: AttemptRef,
    afterRecorded: Array<() => Promise<void>>,
    storedInputs: Record<string, unknown>,
  ): Promise<unknown> {
    // A mapped task's own row evaluates `over`; its items run the task's function, one item each.
    if (def.map && c.mapIndex === null) return expandOver(def, c.inputs, this.#o.xcomSizeLimitBytes)
    if (def.kind === 'task') return def.run(c.inputs, ctx, c.mapItem ?? undefined)
    const pods = this.#o.pods
    if (!pods)
      throw new Error(`task "${c.task}" is a pod task, but this worker was started without a pod runtime`)
    return pods.execute(
      {
        storeId: await this.#o.database.storeId(),
        pipeline: c.pipeline,
        pipelineVersion: c.version,
        runId: c.runId,
        taskRunId: c.id,
        task: c.task,
        // A pod is named after its attempt. An attempt taken over from a dead worker keeps its
        // number, so the new worker finds the same pod (409 → attach) instead of creating a second.
        attempt: c.attempt,
        ...(c.mapIndex === null ? {} : { mapIndex: c.mapIndex, item: c.mapItem }),
        resumed: c.resumed,
        inputs: c.inputs,
        ctx,
        ...(this.#o.xcoms
          ? {
              // A pod writes a result too large for its log to the store itself; the worker checks it.
              xcoms: podXComTransfers(this.#o.xcoms, ref, {
                msToDeadline: c.msToDeadline,
                limitBytes: this.#o.xcomSizeLimitBytes,
              }),
              storedInputs,
            }
          : {}),
        putXcom: async (key, value) => {
          assertStorable(`the XCom key of task "${c.task}"`, key)
          assertStorable(`the XCom ${key} of task "${c.task}"`, value)
          await putXcom(this.#o.database, ref, key, value)
        },
        afterRecorded: (cleanup) => {
          afterRecorded.push(cleanup)
        },
      },
      def,
    )
  }

  /** The run's params through the pipeline's schema, once per run (the schema may transform them). */
  #paramsOf(pipeline: AnyPipeline, c: ClaimedTaskRun): Promise<unknown> {
    let params = this.#params.get(c.runId)
    if (!params) {
      params = pipeline.paramsSchema
        ? validateWith(pipeline.paramsSchema, c.params, `params of run ${c.runId}`)
        : Promise.resolve(c.params ?? {})
      if (this.#params.size > 1000) this.#params.clear()
      this.#params.set(c.runId, params)
    }
    return params
  }

  /**
   * Completes an attempt, retrying through a database outage for as long as the lease could still be
   * valid. A statement the database refuses on its merits (a data error, a constraint) is no outage:
   * the attempt is recorded once more as failed, fatally, with the server's reason and not the SQL.
   */
  async #finish(ref: AttemptRef, outcome: AttemptOutcome): Promise<AttemptOutcome['state'] | 'lost'> {
    const deadline = Date.now() + this.#o.leaseMs
    const backoff = new Backoff(100, 2000)
    for (;;) {
      try {
        await (outcome.state === 'expanded'
          ? finishAttempt(this.#o.database, ref, outcome)
          : this.#completions.complete({ ref, outcome }))
        if (outcome.state === 'up_for_retry' && outcome.retryDelayMs !== undefined) {
          // Wake when the retry is due rather than at the next poll.
          setTimeout(() => this.#wakeUp(), outcome.retryDelayMs).unref()
        }
        return outcome.state
      } catch (error) {
        if (error instanceof LeaseLostError) {
          this.#log('warn', error.message, { runId: ref.runId, task: ref.task })
          return 'lost'
        }
        const reason = databaseErrorMessage(error)
        if (isPermanentDatabaseError(error)) {
          if (outcome.state === 'failed' && outcome.error.startsWith(UNSTORED)) return 'lost'
          this.#log('error', `the database refused the end of ${ref.task}: ${reason}`, { runId: ref.runId })
          outcome = { state: 'failed', error: `${UNSTORED}${reason}` }
          continue
        }
        this.#log('warn', `recording the end of ${ref.task} failed, retrying: ${reason}`)
        if (Date.now() > deadline) {
          this.#log(
            'error',
            `could not record the end of ${ref.task}: ${reason}; the reconciler will requeue it`,
          )
          return 'lost'
        }
        await sleep(backoff.next())
      }
    }
  }

  async #reconcile(): Promise<void> {
    try {
      // After a blocked loop an inline renewal may be late: renew first, so the sweep does not requeue our own tasks.
      await this.#leases?.renewNow()
      const report = await reconcile(this.#o.database, this.id)
      if (report.requeued || report.failed) this.#log('info', 'reconciled expired leases', { ...report })
      if (report.promoted)
        this.#log('info', 'decided the pending tasks of runs a previous runner left stranded', { ...report })
      if (this.#o.pruneOlderThanMs !== undefined) {
        const xcoms = this.#o.xcoms
        const pruned = await pruneSweep(
          this.#o.database,
          this.#o.pruneOlderThanMs,
          xcoms &&
            ((runIds) =>
              deleteRunObjects(xcoms, runIds).then(
                () => {},
                (error: unknown) =>
                  this.#log(
                    'warn',
                    `the XCom objects of pruned runs stay until the orphan collection: ${(error as Error).message}`,
                  ),
              )),
        )
        if (pruned) this.#log('info', `pruned ${pruned} finished runs`)
      }
      const pods = this.#o.pods
      if (pods?.collectOrphans && Date.now() - this.#lastOrphanSweep > this.#o.orphanSweepMs) {
        this.#lastOrphanSweep = Date.now()
        const sweep = {
          store: await this.#o.database.storeId(),
          namespaces: declaredPodNamespaces(this.#o.pipelines),
        }
        const deleted = await pods.collectOrphans(sweep, (ref) => isTaskRunRunning(this.#o.database, ref))
        if (deleted) this.#log('info', `deleted ${deleted} orphaned pods`)
      }
    } catch (error) {
      this.#log('warn', `reconcile failed: ${databaseErrorMessage(error)}`)
    }
  }

  /** Objects of the XCom store no row references, past the grace period (see collect-orphans.ts). */
  async #collectXComs(xcoms: XComOffload, graceMs: number): Promise<void> {
    if (this.#collectingXComs) return
    this.#collectingXComs = true
    try {
      const deleted = await collectOrphanXComs(this.#o.database, xcoms, { graceMs })
      if (deleted) this.#log('info', `deleted ${deleted} XCom objects no run references`)
    } catch (error) {
      this.#log('warn', `collecting unreferenced XCom objects failed: ${databaseErrorMessage(error)}`)
    } finally {
      this.#collectingXComs = false
    }
  }

  #abortRun(runId: string, reason: string): void {
    for (const h of this.#held.values()) if (h.ref.runId === runId) h.controller.abort(new Error(reason))
    // The cancel ended them in the database already; they never start here.
    this.#dropAhead((c) => c.runId === runId)
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The names of a pipeline's mapped tasks: their outputs are arrays of their items' values. */
const mappedTasks = new WeakMap<AnyPipeline, ReadonlySet<string>>()
function mappedTasksOf(p: AnyPipeline): ReadonlySet<string> {
  let names = mappedTasks.get(p)
  if (!names) {
    names = new Set(p.tasks.filter((t) => t.map !== undefined).map((t) => t.name))
    mappedTasks.set(p, names)
  }
  return names
}

const UNSTORED = 'the database refused to store the result of this attempt: '
