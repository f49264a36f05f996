import {
  type AnyPipeline,
  CALLBACK_OPTION,
  CALLBACK_TIMEOUT_MS,
  callbackLabel,
  type DeadlineCallback,
  isTaskCallbackEvent,
  type RunCallback,
  type RunEnded,
  type RunPastDeadline,
  TASK_CALLBACK_OPTION,
  type TaskCallback,
  type TaskEnded,
  validateWith,
} from '@podline/sdk'
import {
  type ClaimedCallback,
  claimCallbacks,
  finishCallback,
  renewCallbackLeases,
} from '../queue/run-callbacks.js'
import { CALLBACK_CHANNEL } from '../queue/sql-values.js'
import type { Database } from '../store/database.js'
import { databaseErrorMessage } from '../store/database-error.js'
import type { WorkerLog } from '../worker-log.js'
import { runInAttemptScope, type TaskCrashError } from './task-faults.js'
import { describeThrown } from './thrown-value.js'

/** A callback of any event: each is called with what its event's type says (see #call). */
type AnyCallback = RunCallback<unknown> | DeadlineCallback<unknown> | TaskCallback<unknown>

export interface CallbackRunnerOptions {
  database: Database
  workerId: string
  pipelines: readonly AnyPipeline[]
  /** Only this run's callbacks (runLocal). */
  runId?: string
  /** A try's lease, renewed while it runs (the worker's task lease): a dead worker's try is taken over after it. */
  leaseMs: number
  log: WorkerLog
}

/** Callbacks one worker runs at once: they wait on the network (a pager, a chat), not on this process. */
const CALLBACK_SLOTS = 4
/** Due callbacks are looked for this often besides their NOTIFY (a retry's backoff, a dead worker's lease). */
const CALLBACK_POLL_MS = 1000

/**
 * Runs the `onFailure` / `onSuccess` callbacks of the pipelines this worker serves. They are queued
 * in PostgreSQL by the statement that ended the run (run_callbacks), so any worker serving the
 * version may take one; a try that throws, times out or loses its worker is tried again, and a
 * callback is recorded done once (queue/run-callbacks.ts fences the end on the try's lease).
 */
export class CallbackRunner {
  readonly #o: CallbackRunnerOptions
  /** Pipelines by version, only those with a callback. */
  readonly #byVersion = new Map<string, AnyPipeline>()
  readonly #running = new Set<Promise<void>>()
  readonly #controllers = new Set<AbortController>()
  #timer: NodeJS.Timeout | undefined
  #renewal: NodeJS.Timeout | undefined
  /** The tries running here, by callback id: their leases are renewed together. */
  readonly #held = new Set<string>()
  #unlisten: (() => Promise<void>) | undefined
  #polling = false
  #again = false
  #stopped = false

  constructor(options: CallbackRunnerOptions) {
    this.#o = options
    for (const p of options.pipelines)
      if (Object.values(p.callbacks).some(Boolean) || p.tasks.some((t) => t.callbacks))
        this.#byVersion.set(p.plan().version, p)
  }

  async start(): Promise<void> {
    if (this.#byVersion.size === 0) return
    this.#unlisten = await this.#o.database.listen(CALLBACK_CHANNEL, (version) => {
      if (this.#byVersion.has(version)) this.#poll()
    })
    this.#timer = setInterval(() => this.#poll(), CALLBACK_POLL_MS)
    this.#renewal = setInterval(() => void this.#renew(), this.#o.leaseMs / 3)
    this.#poll()
  }

  async #renew(): Promise<void> {
    if (this.#held.size === 0) return
    await renewCallbackLeases(this.#o.database, this.#o.workerId, [...this.#held], this.#o.leaseMs).catch(
      (error: unknown) =>
        this.#o.log('warn', `renewing run callbacks' leases failed: ${databaseErrorMessage(error)}`),
    )
  }

  /** Stops taking callbacks; those running get `drainMs` to end, then their signal fires. */
  async stop(drainMs = 5000): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    await this.#unlisten?.().catch(() => {})
    const drained = Promise.all(this.#running)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(resolve, drainMs, 'late')
    })
    if ((await Promise.race([drained, late])) === 'late') {
      for (const c of this.#controllers) c.abort(new Error('the worker is stopping'))
      await drained
    }
    clearTimeout(timer)
    clearInterval(this.#renewal)
  }

  #poll(): void {
    if (this.#stopped) return
    if (this.#polling) {
      this.#again = true
      return
    }
    this.#polling = true
    void this.#claim().finally(() => {
      this.#polling = false
      if (this.#again) {
        this.#again = false
        this.#poll()
      }
    })
  }

  async #claim(): Promise<void> {
    const free = CALLBACK_SLOTS - this.#running.size
    if (free <= 0) return
    let claimed: ClaimedCallback[]
    try {
      claimed = await claimCallbacks(
        this.#o.database,
        this.#o.workerId,
        [...this.#byVersion.keys()],
        free,
        this.#o.leaseMs,
        this.#o.runId,
      )
    } catch (error) {
      this.#o.log('warn', `claiming run callbacks failed: ${databaseErrorMessage(error)}`)
      return
    }
    for (const c of claimed) {
      this.#held.add(c.id)
      const done: Promise<void> = this.#run(c).finally(() => {
        this.#held.delete(c.id)
        this.#running.delete(done)
        this.#poll()
      })
      this.#running.add(done)
    }
  }

  async #run(c: ClaimedCallback): Promise<void> {
    const name = callbackLabel(c)
    const where = { runId: c.runId, callback: name, try: c.try }
    let error: string | undefined
    try {
      const p = this.#byVersion.get(c.version)
      const callback = p && callbackOf(p, c)
      if (!p || !callback) throw new Error(`this worker has no ${name} for ${c.pipeline}@${c.version}`)
      await this.#call(p, callback, c, name)
      this.#o.log('info', `${name} of run ${c.runId} ran`, where)
    } catch (thrown) {
      error = describeThrown(thrown)
      this.#o.log('warn', `${name} of run ${c.runId} failed (try ${c.try}): ${error}`, where)
    }
    try {
      if (!(await finishCallback(this.#o.database, this.#o.workerId, c, error)))
        this.#o.log(
          'warn',
          `${name} of run ${c.runId}: another worker took it over; its end is theirs`,
          where,
        )
    } catch (failed) {
      // The lease lapses and another worker tries again: at least once, recorded once.
      this.#o.log(
        'warn',
        `could not record ${name} of run ${c.runId}: ${databaseErrorMessage(failed)}`,
        where,
      )
    }
  }

  async #call(p: AnyPipeline, callback: AnyCallback, c: ClaimedCallback, name: string): Promise<void> {
    // The params as the tasks saw them; as stored when they fail the schema (the run failed for it).
    const params = p.paramsSchema
      ? await validateWith(p.paramsSchema, c.params ?? {}, 'params').catch(() => c.params)
      : (c.params ?? {})
    const about = {
      runId: c.runId,
      pipeline: c.pipeline,
      version: c.version,
      params,
      failedTasks: c.failedTasks,
      logicalDate: c.logicalDate,
    }
    // What each event's callback is typed to receive: TaskEnded for a task run's attempt (a task's
    // events, the pipeline's onRetry), RunPastDeadline for a deadline, RunEnded for a run's end.
    const run: RunEnded<unknown> | RunPastDeadline<unknown> | TaskEnded<unknown> = c.task
      ? taskEnded(c, params)
      : c.event === 'deadline'
        ? { ...about, state: c.runState, finishedAt: c.finishedAt, deadlineAt: c.deadlineAt ?? '' }
        : { ...about, state: c.runState as RunEnded<unknown>['state'], finishedAt: c.finishedAt ?? '' }
    const controller = new AbortController()
    this.#controllers.add(controller)
    const timer = setTimeout(
      () => controller.abort(new Error(`${name} timed out after ${CALLBACK_TIMEOUT_MS / 1000} s`)),
      CALLBACK_TIMEOUT_MS,
    )
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })
    })
    aborted.catch(() => {})
    // A fault its code raises outside its promise chain fails this try, not the worker.
    const scope = {
      task: name,
      runId: c.runId,
      fail: (crash: TaskCrashError) => controller.abort(crash),
    }
    try {
      await Promise.race([
        runInAttemptScope(scope, () =>
          Promise.resolve().then(() => callback(run as never, { signal: controller.signal, try: c.try })),
        ),
        aborted,
      ])
    } finally {
      clearTimeout(timer)
      this.#controllers.delete(controller)
    }
  }
}

/** The function that answers a queued callback: a task's own option, or the pipeline's. */
function callbackOf(p: AnyPipeline, c: ClaimedCallback): AnyCallback | undefined {
  if (isTaskCallbackEvent(c.event))
    return p.tasks.find((t) => t.name === c.task)?.callbacks?.[TASK_CALLBACK_OPTION[c.event]]
  return p.callbacks[CALLBACK_OPTION[c.event]] as AnyCallback | undefined
}

/** What a task's callback (and the pipeline's onRetry) receives about the attempt it answers. */
function taskEnded(c: ClaimedCallback, params: unknown): TaskEnded<unknown> {
  const state =
    c.event === 'task_success' ? 'success' : c.event === 'task_failure' ? 'failed' : 'up_for_retry'
  return {
    runId: c.runId,
    pipeline: c.pipeline,
    version: c.version,
    params,
    logicalDate: c.logicalDate,
    task: c.task,
    mapIndex: c.mapIndex >= 0 ? c.mapIndex : null,
    attempt: c.attempt,
    state,
    error: state === 'success' ? null : c.taskError,
  }
}
