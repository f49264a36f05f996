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

/**
 * What a task's `onFailure`, `onSuccess` or `onRetry`, and a pipeline's `onRetry`, receive: one
 * attempt of one task run that ended, with the run's params typed by the pipeline's schema.
 */
export interface TaskEnded<Params> {
  runId: string
  pipeline: string
  version: string
  params: Params
  /** A scheduled run's logical date (ISO); null for a triggered run. */
  logicalDate: string | null
  task: string
  /** The item's index of a mapped task (each item answers for itself); null for a task that is not mapped. */
  mapIndex: number | null
  /** The attempt that ended, from 1. */
  attempt: number
  /** `up_for_retry`: this attempt failed and another follows; `failed`: the last one failed. */
  state: 'success' | 'failed' | 'up_for_retry'
  /** The attempt's error; null for a success. */
  error: string | null
}

/** A task callback: queued with the attempt's end, durable and retried like a run callback. */
export type TaskCallback<Params> = (task: TaskEnded<Params>, ctx: CallbackContext) => void | Promise<void>

/**
 * A task's callbacks (Airflow's `on_failure_callback`, `on_success_callback`, `on_retry_callback`):
 * each runs once per event, on any worker, queued by the statement that stored the attempt's end.
 */
export interface TaskCallbackOptions<Params> {
  /** Once when the task run fails for good (its retries spent); not for an upstream's failure. */
  onFailure?: TaskCallback<Params>
  /** Once when the task run succeeds. */
  onSuccess?: TaskCallback<Params>
  /** Once for each failed attempt that is retried. */
  onRetry?: TaskCallback<Params>
}

export type ResolvedTaskCallbacks = TaskCallbackOptions<unknown>

/** The events a task's callbacks answer, as the plan names them. */
export const TASK_CALLBACK_EVENTS = ['task_failure', 'task_success', 'task_retry'] as const
export type TaskCallbackEvent = (typeof TASK_CALLBACK_EVENTS)[number]

/** The option of a task that answers each event. */
export const TASK_CALLBACK_OPTION = {
  task_failure: 'onFailure',
  task_success: 'onSuccess',
  task_retry: 'onRetry',
} as const satisfies Record<TaskCallbackEvent, keyof ResolvedTaskCallbacks>

/** The callback options of a task (among TASK_OPTION_KEYS; a wait takes none). */
export const TASK_CALLBACK_KEYS = [
  'onFailure',
  'onSuccess',
  'onRetry',
] as const satisfies readonly (keyof ResolvedTaskCallbacks)[]

/** The events a task answers, in a fixed order, for its plan. */
export function taskCallbackEvents(callbacks: ResolvedTaskCallbacks): TaskCallbackEvent[] {
  return TASK_CALLBACK_EVENTS.filter((e) => callbacks[TASK_CALLBACK_OPTION[e]] !== undefined)
}

/** The events a pipeline's callbacks answer, as the plan names them (`retry`: any task's retried attempt). */
export const RUN_CALLBACK_EVENTS = ['failure', 'success', 'deadline', 'retry'] as const
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
  onRetry?: TaskCallback<unknown>
}

/** The option of a pipeline that answers each event. */
export const CALLBACK_OPTION = {
  failure: 'onFailure',
  success: 'onSuccess',
  deadline: 'onDeadline',
  retry: 'onRetry',
} as const satisfies Record<RunCallbackEvent, keyof ResolvedCallbacks>

/** Any queued callback's event: a run's or a task's. */
export type CallbackEvent = RunCallbackEvent | TaskCallbackEvent

/** Whether an event is a task's own (its callback is an option of the task). */
export function isTaskCallbackEvent(event: CallbackEvent): event is TaskCallbackEvent {
  return (TASK_CALLBACK_EVENTS as readonly string[]).includes(event)
}

/**
 * How `podline status` and the UI name a queued callback: `onFailure` for the run's,
 * `onRetry (extract, attempt 1)` for a pipeline's answer to a task, `extract.onFailure` for a task's
 * own (`extract[3].onFailure` for an item).
 */
export function callbackLabel(c: {
  event: CallbackEvent
  task: string
  mapIndex: number
  attempt: number
}): string {
  const item = c.mapIndex >= 0 ? `[${c.mapIndex}]` : ''
  if (isTaskCallbackEvent(c.event)) return `${c.task}${item}.${TASK_CALLBACK_OPTION[c.event]}`
  const option = CALLBACK_OPTION[c.event]
  return c.task ? `${option} (${c.task}${item}, attempt ${c.attempt})` : option
}

/** The events a pipeline answers, in a fixed order, for its plan (and so its version). */
export function callbackEvents(callbacks: ResolvedCallbacks): RunCallbackEvent[] {
  return RUN_CALLBACK_EVENTS.filter((e) => callbacks[CALLBACK_OPTION[e]] !== undefined)
}
