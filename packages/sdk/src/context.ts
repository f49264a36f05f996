import type { ScheduleTick } from './schedule.js'

/** Structured log lines of a task; the runner stores them with the run and streams them to the worker's log. */
export interface TaskLogger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** What every task function receives besides its inputs. */
export interface TaskContext<Params> {
  /** The run's parameters, as the pipeline's `params` schema output them. */
  readonly params: Params
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
