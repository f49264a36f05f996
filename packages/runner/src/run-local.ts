import {
  type AnyPipeline,
  CALLBACK_MAX_TRIES,
  CALLBACK_TIMEOUT_MS,
  type ParamsInputOf,
  type RunOutputsOf,
} from '@podline/sdk'
import { executionSettings } from './config/settings.js'
import { markLocalRun } from './local-run-marker.js'
import { cancelRun } from './queue/cancel-run.js'
import { hasOpenCallbacks } from './read-model/run-callbacks.js'
import { runStatus } from './read-model/run-status.js'
import { runOutputs } from './read-model/task-xcoms.js'
import type { Database } from './store/database.js'
import { borrowStore, openStore, type StoreOptions } from './store.js'
import { taskThatFailedTheRun } from './task-that-failed-the-run.js'
import { triggerPipeline } from './trigger.js'
import { waitForRun } from './wait-for-run.js'
import { createPodRuntime, type PodRuntimeOptions } from './worker/pod-runtime.js'
import { type AttemptEvent, Worker } from './worker/worker.js'
import type { WorkerLog } from './worker-log.js'
import { resolveInputs } from './xcom-store/xcom-reference.js'
import { openXComStorage, type XComStorageOptions } from './xcom-store/xcom-storage.js'

/**
 * Each option wins over its environment variable, as `podline run`'s flags do: DATABASE_URL,
 * PODLINE_DATA_DIR, PODLINE_DB_POOL_SIZE, PODLINE_CONCURRENCY, PODLINE_POD_CONCURRENCY,
 * PODLINE_COMPLETION_BATCH_MS, PODLINE_CLAIM_AHEAD, PODLINE_LEASE_MS, PODLINE_XCOM_LIMIT_BYTES,
 * PODLINE_XCOM_STORE, PODLINE_XCOM_OFFLOAD_BYTES, PODLINE_S3_ENDPOINT, PODLINE_RUNTIME,
 * PODLINE_NAMESPACE, PODLINE_KUBE_CONTEXT, PODLINE_SIDECAR_IMAGE, PODLINE_SIDECAR_MODE.
 */
export interface RunLocalOptions extends StoreOptions, PodRuntimeOptions, XComStorageOptions {
  /** An open database to use (and leave open) instead of opening one from the other options. */
  database?: Database
  /** Inline task runs processed at once (PODLINE_CONCURRENCY). Default 4. */
  concurrency?: number
  /** Pod task runs supervised at once (PODLINE_POD_CONCURRENCY). */
  podConcurrency?: number
  /** The largest value a task may return (PODLINE_XCOM_LIMIT_BYTES). Default 1 MiB, 5 GiB with an XCom store. */
  xcomSizeLimitBytes?: number
  log?: WorkerLog
  onAttempt?: (event: AttemptEvent) => void
  /** Called once the run exists, before any task runs. */
  onRun?: (runId: string) => void
  /** false: its tasks' caches are bypassed (`podline run --no-cache`). Default true. */
  cache?: boolean
  /** Lease of each claimed task run (PODLINE_LEASE_MS). Default 30 s. */
  leaseMs?: number
  /**
   * Cancels the run when aborted: its tasks' signals abort, their pods are deleted, and runLocal
   * rejects with RunCancelledError once the worker has let go of them.
   */
  signal?: AbortSignal
}

/** Thrown by runLocal when the run fails: the failing task's error, with its message and stack. */
export class TaskRunError extends Error {
  override readonly name = 'TaskRunError'
  constructor(
    readonly runId: string,
    readonly task: string,
    message: string,
    stack: string | null,
  ) {
    super(`task "${task}" failed: ${message}`)
    if (stack) this.stack = `${this.name}: ${this.message}\n${stack.split('\n').slice(1).join('\n')}`
  }
}

export class RunCancelledError extends Error {
  override readonly name = 'RunCancelledError'
  constructor(
    readonly runId: string,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Runs a whole pipeline in this process: on the embedded store under `.podline/` (or `DATABASE_URL`),
 * with an in-process worker that takes only this run's tasks. Resolves, once the run succeeded, to
 * every task's output, typed; a task that a successful run can lack (skipped, or failed under a
 * tolerant trigger rule downstream) is an optional member. Rejects when the run fails or is
 * cancelled, with the failing task's error.
 * @example
 * if (isMain(import.meta)) console.log(await runLocal(etl, { date: '2026-11-21' }))
 */
export async function runLocal<P extends AnyPipeline>(
  p: P,
  ...[params, options = {}]: {} extends ParamsInputOf<P>
    ? [params?: ParamsInputOf<P>, options?: RunLocalOptions]
    : [params: ParamsInputOf<P>, options?: RunLocalOptions]
): Promise<RunOutputsOf<P>> {
  // The environment, checked by the schema every entry point shares, under the caller's options.
  const env = executionSettings()
  const store = options.database
    ? borrowStore(options.database)
    : await openStore({
        ...(env.databaseUrl ? { databaseUrl: env.databaseUrl } : {}),
        ...(env.dataDir ? { dataDir: env.dataDir } : {}),
        poolSize: env.poolSize,
        ...defined(options),
      })
  const { database } = store
  try {
    const runId = await triggerPipeline(database, p, params, options.cache === false ? { cache: false } : {})
    const unmark = markLocalRun(database, runId)
    store.onClose(async () => unmark())
    options.onRun?.(runId)
    // A claim that fails with an error of the statement itself (not of the connection) fails the
    // same way at every retry: runLocal stops with it instead of waiting forever.
    let claimFailed: (error: unknown) => void = () => {}
    const unclaimable = new Promise<never>((_, reject) => {
      claimFailed = reject
    })
    unclaimable.catch(() => {})
    const hasPods = p.tasks.some((t) => t.kind === 'pod')
    const xcomSizeLimitBytes = options.xcomSizeLimitBytes ?? env.xcomSizeLimitBytes
    const xcoms = await openXComStorage({ ...env.xcoms, ...defined(options) }, database)
    if (xcoms) store.onClose(() => xcoms.store.close())
    const worker = new Worker({
      database,
      pipelines: [p],
      runId,
      concurrency: options.concurrency ?? env.concurrency,
      podConcurrency: options.podConcurrency ?? env.podConcurrency,
      ...env.batching,
      leaseMs: options.leaseMs ?? env.leaseMs,
      ...(xcomSizeLimitBytes ? { xcomSizeLimitBytes } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(xcoms ? { xcoms } : {}),
      ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
      ...(hasPods
        ? {
            pods: await createPodRuntime({
              ...env.pods,
              ...defined(options),
              ...(xcomSizeLimitBytes ? { xcomSizeLimitBytes } : {}),
            }),
          }
        : {}),
      pollMs: 1000,
      onClaimError: (error) => {
        if (!isStatementError(error)) return
        // drizzle's message quotes the whole statement; the driver's (its cause) names the problem.
        const reason = error instanceof Error && error.cause instanceof Error ? error.cause : error
        claimFailed(
          new Error(`run ${runId}: claiming its tasks failed: ${(reason as Error).message}`, {
            cause: error,
          }),
        )
      },
    })
    const cancel = () => void cancelRun(database, runId).catch(() => {})
    if (options.signal?.aborted) cancel()
    options.signal?.addEventListener('abort', cancel, { once: true })
    await worker.start()
    try {
      await Promise.race([waitForRun(database, runId, { pollMs: 500 }), unclaimable])
      // The run's onFailure / onSuccess run here too, before runLocal answers.
      await waitForCallbacks(database, runId)
    } finally {
      options.signal?.removeEventListener('abort', cancel)
      await worker.stop({ drainMs: 5000 })
    }
    const status = await runStatus(database, runId)
    if (status?.run.state === 'success')
      return (await resolveInputs(
        xcoms?.store,
        await runOutputs(database, runId),
        new Set(p.tasks.filter((t) => t.map !== undefined).map((t) => t.name)),
      )) as RunOutputsOf<P>
    if (status?.run.state === 'cancelled')
      throw new RunCancelledError(runId, `run ${runId} of ${p.name} was cancelled`)
    const failed = status && taskThatFailedTheRun(p, status)
    if (failed) throw new TaskRunError(runId, failed.task, failed.error ?? 'failed', failed.errorStack)
    throw new Error(
      `run ${runId} of ${p.name} ended ${status?.run.state}: ${status?.run.error ?? 'no error recorded'}`,
    )
  } finally {
    await store.close()
  }
}

/** Waits until the run's callbacks have ended (each try is bounded by CALLBACK_TIMEOUT_MS). */
async function waitForCallbacks(database: Database, runId: string): Promise<void> {
  const deadline = Date.now() + CALLBACK_MAX_TRIES * (CALLBACK_TIMEOUT_MS + 5000)
  while ((await hasOpenCallbacks(database, runId)) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50))
}

/**
 * An error PostgreSQL raised for the statement (SQLSTATE class 22 data, 23 constraint, 42 syntax or
 * schema, 0A unsupported): retrying cannot help. Connection and server-restart errors are not these.
 */
function isStatementError(error: unknown): boolean {
  // drizzle wraps the driver's error: the SQLSTATE is on it or on its cause.
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null
  const code = e?.code ?? e?.cause?.code
  return typeof code === 'string' && /^(22|23|42|0A)/.test(code)
}

/** The options the caller gave: one left `undefined` keeps what the environment says. */
function defined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>
}
