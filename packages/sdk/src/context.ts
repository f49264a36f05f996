import type { ScheduleTick } from './schedule.js'

/** Structured log lines of a task; the runner stores them with the run and streams them to the worker's log. */
export interface TaskLogger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** What every task function receives besides its inputs. */
export interface TaskContext<Params, Assets = {}> {
  /** The run's parameters, as the pipeline's `params` schema output them. */
  readonly params: Params
  /**
   * The asset events that created the run, by asset name, each through its asset's schema: only
   * the assets of the pipeline's `on` are there (empty for a run not created by assets).
   */
  readonly assets: Assets
  /** Fires when the run is cancelled, the attempt times out, or the worker shuts down. */
  readonly signal: AbortSignal
  readonly runId: string
  /** 1 for the first attempt. */
  readonly attempt: number
  readonly pipeline: string
  readonly task: string
  readonly log: TaskLogger
  /** The tick a scheduled or backfilled run stands for (logical date, data interval); undefined for other runs. */
  readonly schedule?: ScheduleTick | undefined
  /** The item's index in a mapped task (`.map`, `.mapPod`), from 0; undefined for other tasks. */
  readonly mapIndex?: number | undefined
}

/**
 * An upstream's value in the XCom store, as a pod may read it without the store's credentials: a
 * presigned GET URL valid until the attempt's deadline (an S3 store), or the object's path (a
 * folder store, under the process runtime). `size` and `sha256` let the pod check what it read.
 */
export type StoredInput =
  | {
      readonly kind: 'url'
      readonly url: string
      readonly expiresAt: Date
      readonly size: number
      readonly sha256: string
    }
  | { readonly kind: 'path'; readonly path: string; readonly size: number; readonly sha256: string }

/** What a pod spec function receives besides its inputs: the task's context and the stored inputs' locations. */
export interface PodSpecContext<Params, Needs extends string = string, Assets = {}>
  extends TaskContext<Params, Assets> {
  /**
   * Where the pod can download the value of `task` (one of the `needs`), so a large value need not
   * pass through an env var: resolves to undefined when the value is small enough to live in its
   * row (no XCom store, or below the offload size): pass the input itself then. For a mapped
   * upstream, `item` names the item (0, 1, …).
   * @example
   * (inputs, ctx) => ctx.inputUrl('extract').then((input) => ({
   *   image: 'curlimages/curl:8.11.1',
   *   command: ['sh', '-c', 'curl -fsS "$INPUT" | wc -c'],
   *   env: { INPUT: input?.kind === 'url' ? input.url : '' },
   * }))
   */
  inputUrl(task: Needs, options?: { item?: number }): Promise<StoredInput | undefined>
}
