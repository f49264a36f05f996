/**
 * The states of task runs and runs: the one definition that the schema's CHECK constraints, the SQL
 * statements' state literals (through `states()` in queue/sql-values.ts), the state machine, the CLI
 * and the KEDA queries derive from or are tested against.
 */
export const TASK_STATES = [
  'pending',
  'queued',
  'running',
  'success',
  'failed',
  'up_for_retry',
  'skipped',
  'upstream_failed',
  'cancelled',
] as const
export type TaskState = (typeof TASK_STATES)[number]

export const RUN_STATES = ['queued', 'running', 'success', 'failed', 'cancelled'] as const
export type RunState = (typeof RUN_STATES)[number]

/** A task run that has not ended: the partial index task_runs_open_idx covers exactly these. */
export const OPEN_TASK_STATES = [
  'pending',
  'queued',
  'running',
  'up_for_retry',
] as const satisfies readonly TaskState[]

export const TERMINAL_TASK_STATES = [
  'success',
  'failed',
  'skipped',
  'upstream_failed',
  'cancelled',
] as const satisfies readonly TaskState[]

/** What a claim takes: the partial index task_runs_claim_idx covers exactly these. */
export const CLAIMABLE_TASK_STATES = ['queued', 'up_for_retry'] as const satisfies readonly TaskState[]

/** An upstream in one of these counts as failed for the trigger rules. */
export const FAILED_TASK_STATES = ['failed', 'upstream_failed'] as const satisfies readonly TaskState[]

export const OPEN_RUN_STATES = ['queued', 'running'] as const satisfies readonly RunState[]

/**
 * A run callback's states (queue/run-callbacks.ts): queued (also between tries), running under a
 * worker's lease, then success or failed once its tries are spent.
 */
export const CALLBACK_STATES = [
  'queued',
  'running',
  'success',
  'failed',
] as const satisfies readonly TaskState[]
export type CallbackState = (typeof CALLBACK_STATES)[number]

/** A run in one of these has ended: retention prunes these alone (the partial index runs_finished_idx). */
export const FINISHED_RUN_STATES = ['success', 'failed', 'cancelled'] as const satisfies readonly RunState[]

// Every run state is open or finished: a state added to RUN_STATES alone fails to compile here.
const _everyRunStateSorted: [
  Exclude<RunState, (typeof OPEN_RUN_STATES)[number] | (typeof FINISHED_RUN_STATES)[number]>,
] extends [never]
  ? true
  : never = true
void _everyRunStateSorted
