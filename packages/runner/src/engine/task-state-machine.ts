import { match, P } from 'ts-pattern'
import { TASK_STATES, type TaskState, TERMINAL_TASK_STATES } from './states.js'

/** Everything that moves a task run. Each is recorded as an event row with its from and to states. */
export type TaskTransition =
  | { type: 'claim' }
  | { type: 'succeed' }
  | { type: 'fail'; retryable: boolean }
  | { type: 'skip' }
  /** The worker died: its attempt is taken over, or fails once the task has killed workers too often. */
  | { type: 'lease_expired'; exhausted: boolean }
  /** A draining worker hands its attempt back: taken over, not ended. */
  | { type: 'release' }
  | { type: 'promote'; to: 'queue' | 'skip' | 'upstream_failed' }
  | { type: 'cancel' }
  /** `podline retry`: queued when every upstream has succeeded (and is not retried too), else pending. */
  | { type: 'retry'; upstreamsReady: boolean }
  /**
   * A mapped task's own attempt evaluated `over`: with items its row stays running (the items'
   * parent, no lease), with none it succeeds at once. Its end, when the last item ends, is
   * `succeed` or `fail` (not retryable: the items had their retries).
   */
  | { type: 'expand'; items: boolean }
  /** `podline retry` of a mapped task whose inputs stand: its row goes back to running, for its items. */
  | { type: 'retry_items' }

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError'
}

export function isTerminal(state: TaskState): boolean {
  return (TERMINAL_TASK_STATES as readonly TaskState[]).includes(state)
}

/**
 * The task-run state machine. Every state is matched exhaustively, so adding a state is a compile
 * error here until each transition says what happens to it.
 */
export function nextTaskState(from: TaskState, t: TaskTransition): TaskState {
  const illegal = (): never => {
    throw new IllegalTransitionError(`a task run in state ${from} cannot ${t.type}`)
  }
  return (
    match([from, t] as const)
      .with(['queued', { type: 'claim' }], ['up_for_retry', { type: 'claim' }], () => 'running' as const)
      .with(['running', { type: 'succeed' }], () => 'success' as const)
      .with(['running', { type: 'fail', retryable: true }], () => 'up_for_retry' as const)
      .with(['running', { type: 'fail', retryable: false }], () => 'failed' as const)
      .with(['running', { type: 'skip' }], () => 'skipped' as const)
      .with(['running', { type: 'lease_expired', exhausted: false }], () => 'queued' as const)
      .with(['running', { type: 'lease_expired', exhausted: true }], () => 'failed' as const)
      .with(['running', { type: 'release' }], () => 'queued' as const)
      .with(['pending', { type: 'promote', to: 'queue' }], () => 'queued' as const)
      .with(['pending', { type: 'promote', to: 'skip' }], () => 'skipped' as const)
      .with(['pending', { type: 'promote', to: 'upstream_failed' }], () => 'upstream_failed' as const)
      .with(
        [P.union('pending', 'queued', 'running', 'up_for_retry'), { type: 'cancel' }],
        () => 'cancelled' as const,
      )
      // Retrying one task reruns everything downstream of it, succeeded tasks included.
      .with(
        [P.union(...TERMINAL_TASK_STATES), { type: 'retry', upstreamsReady: true }],
        () => 'queued' as const,
      )
      .with(
        [P.union(...TERMINAL_TASK_STATES), { type: 'retry', upstreamsReady: false }],
        () => 'pending' as const,
      )
      .with(['running', { type: 'expand', items: true }], () => 'running' as const)
      .with(['running', { type: 'expand', items: false }], () => 'success' as const)
      .with([P.union('failed', 'cancelled'), { type: 'retry_items' }], () => 'running' as const)
      .with([P.union(...TASK_STATES), P._], illegal)
      .exhaustive()
  )
}

/** Every transition, each variant once: what a test checks each recorded (from, to) pair against. */
export const TASK_TRANSITIONS: readonly TaskTransition[] = [
  { type: 'claim' },
  { type: 'succeed' },
  { type: 'fail', retryable: true },
  { type: 'fail', retryable: false },
  { type: 'skip' },
  { type: 'lease_expired', exhausted: false },
  { type: 'lease_expired', exhausted: true },
  { type: 'release' },
  { type: 'promote', to: 'queue' },
  { type: 'promote', to: 'skip' },
  { type: 'promote', to: 'upstream_failed' },
  { type: 'cancel' },
  { type: 'retry', upstreamsReady: true },
  { type: 'retry', upstreamsReady: false },
  { type: 'expand', items: true },
  { type: 'expand', items: false },
  { type: 'retry_items' },
]

/** The transitions that move a task run from `from` to `to` (none: the machine forbids it). */
export function transitionsBetween(from: TaskState, to: TaskState): TaskTransition[] {
  return TASK_TRANSITIONS.filter((t) => {
    try {
      return nextTaskState(from, t) === to
    } catch (error) {
      if (error instanceof IllegalTransitionError) return false
      throw error
    }
  })
}
