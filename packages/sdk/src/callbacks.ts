import type { Duration } from './task-options.js'

/**
 * What a pipeline's `onFailure` or `onSuccess` receives: the run that ended, its params typed by the
 * pipeline's schema, and for a failed run each task that failed with its error.
 */
export interface RunEnded<Params> {
  runId: string
  pipeline: string
  version: string
  /** The run's params after the schema; as they were given when they failed it (the run then failed for it). */
  params: Params
  state: 'success' | 'failed'
  /** The tasks that failed (not those that only inherited an upstream's failure), with their last error. */
  failedTasks: Array<{ task: string; attempt: number; error: string }>
  /** A scheduled run's logical date (ISO); null for a triggered run. */
  logicalDate: string | null
  /** When the run ended (ISO, the database's clock). */
  finishedAt: string
}

/** What a pipeline's `onDeadline` receives: the run that had not finished by its deadline. */
export interface RunPastDeadline<Params> extends Omit<RunEnded<Params>, 'state' | 'finishedAt'> {
  /** The run's state when the callback runs: it may have ended since its deadline passed. */
  state: 'queued' | 'running' | 'success' | 'failed' | 'cancelled'
  /** The deadline it missed (ISO). */
  deadlineAt: string
  /** When it ended, if it has since (ISO); null while it runs. */
  finishedAt: string | null
}

/**
 * When a run must have finished: `after` a duration from when it was queued (created), or from its
 * logical date (a scheduled run's tick; a triggered run has none and counts from its creation).
 */
export interface DeadlineOptions {
  after: Duration
  from?: 'queued' | 'logicalDate'
}

/** The deadline as the plan keeps it. */
export interface PlanDeadline {
  afterMs: number
  from: 'queued' | 'logicalDate'
}

export interface CallbackContext {
  /** Fires when the callback's time is up (CALLBACK_TIMEOUT_MS) or its worker stops. */
  signal: AbortSignal
  /** 1 for the first try; a callback that throws is tried again, up to CALLBACK_MAX_TRIES in all. */
  try: number
}

/** A run callback: durable (queued in PostgreSQL with the run's end), retried, run once per run on any worker. */
export type RunCallback<Params> = (run: RunEnded<Params>, ctx: CallbackContext) => void | Promise<void>

/** The events a pipeline's callbacks answer, as the plan names them. */
export const RUN_CALLBACK_EVENTS = ['failure', 'success', 'deadline'] as const
export type RunCallbackEvent = (typeof RUN_CALLBACK_EVENTS)[number]

/** A callback's tries in all: the first and two retries, 1 s then 2 s apart. */
export const CALLBACK_MAX_TRIES = 3
/** A try running longer has its signal fired and counts as failed. */
export const CALLBACK_TIMEOUT_MS = 60_000

/** A pipeline's `onDeadline`: once per run that has not finished by its deadline. */
export type DeadlineCallback<Params> = (
  run: RunPastDeadline<Params>,
  ctx: CallbackContext,
) => void | Promise<void>

export interface ResolvedCallbacks {
  onFailure?: RunCallback<unknown>
  onSuccess?: RunCallback<unknown>
  onDeadline?: DeadlineCallback<unknown>
}

/** The option that answers each event. */
export const CALLBACK_OPTION = {
  failure: 'onFailure',
  success: 'onSuccess',
  deadline: 'onDeadline',
} as const satisfies Record<RunCallbackEvent, keyof ResolvedCallbacks>

/** The events a pipeline answers, in a fixed order, for its plan (and so its version). */
export function callbackEvents(callbacks: ResolvedCallbacks): RunCallbackEvent[] {
  return RUN_CALLBACK_EVENTS.filter((e) => callbacks[CALLBACK_OPTION[e]] !== undefined)
}
