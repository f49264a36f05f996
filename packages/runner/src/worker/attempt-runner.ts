import {
  type AnyPipeline,
  type JsonValue,
  type RunAssets,
  SchemaValidationError,
  type TaskContext,
  type TaskDefinition,
  validateWith,
} from '@podline/sdk'
import { Backoff } from '../backoff.js'
import { scheduleTick } from '../engine/schedule-ticks.js'
import { TaskFailure } from '../engine/task-failure.js'
import type { PodExecutor as PodsExecutor } from '../pods/pod-executor.js'
import { type AttemptRef, LeaseLostError } from '../queue/attempt-fence.js'
import type { ClaimedTaskRun } from '../queue/claim-task-runs.js'
import { failRunOnParams } from '../queue/fail-run-params.js'
import { type AttemptOutcome, finishAttempt, putXcom } from '../queue/finish-attempt.js'
import { returnUnstarted } from '../queue/release-task-runs.js'
import type { Database } from '../store/database.js'
import { databaseErrorMessage, isPermanentDatabaseError } from '../store/database-error.js'
import type { WorkerLog } from '../worker-log.js'
import { podXComTransfers } from '../xcom-store/pod-transfers.js'
import type { XComOffload } from '../xcom-store/xcom-offload.js'
import { offloadOutcome, resolveTaskInputs } from './attempt-offload.js'
import { failureOutcome, successOutcome } from './attempt-outcome.js'
import type { AttemptEnd } from './attempt-span.js'
import { AttemptTimeout, TaskTimeoutError, whileStoring } from './attempt-timeout.js'
import { CacheLookups } from './cache-lookups.js'
import { CompletionBatch } from './completion-batch.js'
import { ClaimInputs } from './item-inputs.js'
import type { LoadedPipelines } from './loaded-pipelines.js'
import type { LogSink } from './log-sink.js'
import { expandOver, MapExpansion } from './map-expansion.js'
import { checkProduced, runAssets } from './run-assets.js'
import { assertStorable } from './storable-text.js'
import { taskCacheKey } from './task-cache-key.js'
import { TaskCrashError } from './task-faults.js'

/**
 * What the worker needs of a pod runtime: the pods module's executor (the Kubernetes launcher or the
 * process runtime), of which only `execute` is required. Imported as a type only: the pods module
 * loads the Kubernetes client, which a worker without pod tasks never loads.
 */
export type PodExecutor = Pick<PodsExecutor, 'execute'> &
  Partial<Pick<PodsExecutor, 'collectOrphans' | 'close'>>

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

/** Endings one transaction stores at most. */
const MAX_COMPLETION_BATCH = 256

/** What an attempt tells the worker's slots and its local queue while it runs. */
export interface AttemptSlots {
  /** True when every inline attempt this worker holds has ended: a batch of completions waits no longer. */
  idle(): boolean
  /** The task has returned (its run's params were good): its slot is free while its ending is stored. */
  returned(c: ClaimedTaskRun): void
  /** Takes the run's claimed-ahead task runs out of the local queue: they never start here. */
  dropQueued(runId: string): ClaimedTaskRun[]
  /** Claims again now (a retry has come due). */
  wakeUp(): void
}

export interface AttemptRunnerOptions {
  database: Database
  workerId: string
  pipelines: LoadedPipelines
  pods: PodExecutor | undefined
  xcoms: XComOffload | undefined
  xcomSizeLimitBytes: number
  /** How long a task that ignores its signal keeps its slot and its lease. */
  signalGraceMs: number
  /** How long recording an ending is retried through an outage: as long as the lease could hold. */
  leaseMs: number
  /** See `WorkerOptions.completionBatchMs`. */
  completionBatchMs: number
  logs: LogSink
  log: WorkerLog
  onAttempt: ((event: AttemptEvent) => void) | undefined
  slots: AttemptSlots
}

/**
 * Runs a claimed attempt to its stored end: the run's params, the inputs, the task's function (or its
 * pod, or a mapped task's `over`) under the attempt's timeout and signal, the outcome checked and
 * offloaded, then stored fenced (batched with other endings) through outages for as long as the lease
 * could hold. What the claim loop holds (slots, leases, the local queue) it reaches through `slots`.
 */
export class AttemptRunner {
  readonly #o: AttemptRunnerOptions
  /** The inputs of claimed task runs; a mapped task's items share theirs, read once. */
  readonly #inputs: ClaimInputs
  readonly #completions: CompletionBatch
  readonly #cacheLookups: CacheLookups
  readonly #params = new Map<string, Promise<unknown>>()
  readonly #assets = new Map<string, Promise<RunAssets>>()

  constructor(options: AttemptRunnerOptions) {
    this.#o = options
    this.#inputs = new ClaimInputs(options.database)
    this.#cacheLookups = new CacheLookups(options.database)
    this.#completions = new CompletionBatch({
      database: options.database,
      workerId: options.workerId,
      windowMs: options.completionBatchMs,
      maxSize: MAX_COMPLETION_BATCH,
      idle: () => options.slots.idle(),
    })
  }

  async run(c: ClaimedTaskRun, ref: AttemptRef, controller: AbortController): Promise<AttemptEnd> {
    const found = this.#o.pipelines.task(c)
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
      const { pipeline, def, mappedTasks } = found
      // The deadline is the attempt's, from the database: a takeover keeps what is left of it.
      const timeout = new AttemptTimeout(controller, c.timeoutMs, c.msToDeadline, c.task, c.attempt)
      try {
        const params = await this.#paramsOf(pipeline, c).catch((error: unknown) => {
          if (!(error instanceof SchemaValidationError)) throw error
          // The params are the run's, not this task's: the whole run fails, and no retry can help.
          badParams = `${error.message}; the run cannot start`
          throw new TaskFailure(badParams, 'fatal')
        })
        const log = this.#o.logs.forTask(c.runId, c.task, c.attempt, c.mapIndex)
        const ctx: TaskContext<unknown, RunAssets> = {
          params,
          assets: await this.#assetsOf(pipeline, c),
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
          this.#inputs.of(c, (stored) => resolveTaskInputs(this.#o.xcoms, stored, mappedTasks)),
          aborted,
          'reading its inputs from',
          this.#o.xcoms,
        )
        // A task with a cache: an entry of its key is its output, and the task does not run.
        const cache = await taskCacheKey(def, c.pipeline, inputs.resolved, c.params, ctx)
        const hit =
          cache && !c.noCache
            ? await this.#cacheLookups.find({ pipeline: c.pipeline, task: c.task, key: cache.key })
            : undefined
        // The hit is recorded with the ending (task_runs.cached_from and its event's message).
        if (hit) {
          outcome = {
            state: 'success',
            output: hit.value as JsonValue,
            size: hit.size,
            cachedFrom: hit.runId,
          }
        } else {
          running = Promise.resolve().then(() =>
            this.#execute(def, { ...c, inputs: inputs.resolved }, ctx, ref, afterRecorded, inputs.stored),
          )
          // A task that ignores its signal still ends here: the attempt is decided when the signal fires.
          const value = await Promise.race([running, aborted])
          // Synchronous work can outlast the timeout without letting its timer fire: judged on return.
          timeout.checkOnReturn()
          if (!(value instanceof MapExpansion)) await checkProduced(def, value)
          outcome =
            value instanceof MapExpansion
              ? { state: 'expanded', items: value.items }
              : await whileStoring(
                  offloadOutcome(
                    this.#o.xcoms,
                    ref,
                    successOutcome(c.task, value, this.#o.xcomSizeLimitBytes, this.#o.xcoms?.store.location),
                  ),
                  aborted,
                  'writing its output to',
                  this.#o.xcoms,
                )
          if (cache && outcome.state === 'success') outcome = { ...outcome, cache }
        }
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
      this.#o.onAttempt?.({ type: 'finished', ...eventOf(c), state: 'lost' })
      return { state: 'lost' }
    }
    await this.#o.logs.flush()
    // The run's tasks this worker claimed ahead never start: they fail with the others, unstarted
    // (below), and the slot stays taken until then, so that no other task of the run is claimed.
    const unstarted = badParams ? this.#o.slots.dropQueued(c.runId) : []
    if (!badParams) this.#o.slots.returned(c)
    const state = await this.#finish(ref, outcome)
    if (state !== 'lost') {
      for (const cleanup of afterRecorded)
        await cleanup().catch((error: unknown) =>
          this.#o.log(
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
      await failRunOnParams(this.#o.database, c.runId, badParams, this.#o.workerId, unstarted).catch(
        (error: unknown) =>
          this.#o.log('warn', `could not fail run ${c.runId} on its params: ${databaseErrorMessage(error)}`),
      )
    } else if (unstarted.length > 0) {
      await returnUnstarted(this.#o.database, this.#o.workerId, unstarted).catch(() => {})
    }
    this.#o.onAttempt?.({
      type: 'finished',
      ...eventOf(c),
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
      this.#o.log(
        'warn',
        `a task ignored its signal for ${this.#o.signalGraceMs} ms; its slot is freed while it still runs`,
      )
    }
    clearTimeout(timer)
  }

  async #execute(
    def: TaskDefinition,
    c: ClaimedTaskRun & { inputs: Record<string, unknown> },
    ctx: TaskContext<unknown, RunAssets>,
    ref: AttemptRef,
    afterRecorded: Array<() => Promise<void>>,
    storedInputs: Record<string, unknown>,
  ): Promise<unknown> {
    // A mapped task's own row evaluates `over`; its items run the task's function, one item each.
    if (def.map && c.mapIndex === null)
      return expandOver(def, c.inputs, this.#o.xcomSizeLimitBytes, this.#o.xcoms?.store.location)
    if (def.kind === 'task') return def.run(c.inputs, ctx, c.mapItem ?? undefined)
    // A wait's task run is never claimed (the claim takes inline tasks and pods only); a signal or
    // its timeout ends it (queue/signal-wait.ts).
    if (def.kind === 'wait') throw new Error(`"${c.task}" is a wait: it ends by a signal, never by a worker`)
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

  /** The run's asset events through their schemas, once per run (see runAssets). */
  #assetsOf(pipeline: AnyPipeline, c: ClaimedTaskRun): Promise<RunAssets> {
    if (!c.assets) return Promise.resolve({})
    let assets = this.#assets.get(c.runId)
    if (!assets) {
      assets = runAssets(pipeline, c.runId, c.assets, this.#o.xcoms)
      // A failure (the store unreachable) is not kept: the next attempt reads again.
      assets.catch(() => this.#assets.delete(c.runId))
      if (this.#assets.size > 1000) this.#assets.clear()
      this.#assets.set(c.runId, assets)
    }
    return assets
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
          setTimeout(() => this.#o.slots.wakeUp(), outcome.retryDelayMs).unref()
        }
        return outcome.state
      } catch (error) {
        if (error instanceof LeaseLostError) {
          this.#o.log('warn', error.message, { runId: ref.runId, task: ref.task })
          return 'lost'
        }
        const reason = databaseErrorMessage(error)
        if (isPermanentDatabaseError(error)) {
          if (outcome.state === 'failed' && outcome.error.startsWith(UNSTORED)) return 'lost'
          this.#o.log('error', `the database refused the end of ${ref.task}: ${reason}`, { runId: ref.runId })
          outcome = { state: 'failed', error: `${UNSTORED}${reason}` }
          continue
        }
        this.#o.log('warn', `recording the end of ${ref.task} failed, retrying: ${reason}`)
        if (Date.now() > deadline) {
          this.#o.log(
            'error',
            `could not record the end of ${ref.task}: ${reason}; the reconciler will requeue it`,
          )
          return 'lost'
        }
        await sleep(backoff.next())
      }
    }
  }
}

/** What every attempt event says of its attempt. */
export function eventOf(c: ClaimedTaskRun): Omit<Extract<AttemptEvent, { type: 'started' }>, 'type'> {
  return {
    runId: c.runId,
    pipeline: c.pipeline,
    task: c.task,
    attempt: c.attempt,
    ...(c.mapIndex === null ? {} : { mapIndex: c.mapIndex }),
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const UNSTORED = 'the database refused to store the result of this attempt: '
