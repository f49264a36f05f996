import { match, P } from 'ts-pattern'
import type { TaskState } from '../store/schema.js'

/** Everything that moves a task run. Each is recorded as an event row with its from and to states. */
export type TaskTransition =
  | { type: 'claim' }
  | { type: 'succeed' }
  | { type: 'fail'; retryable: boolean }
  | { type: 'skip' }
  | { type: 'lease_expired'; exhausted: boolean }
  | { type: 'promote'; to: 'queue' | 'skip' | 'upstream_failed' }
  | { type: 'cancel' }
  | { type: 'retry' }

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError'
}

export function isTerminal(state: TaskState): boolean {
  return match(state)
    .with('success', 'failed', 'skipped', 'upstream_failed', 'cancelled', () => true)
    .with('pending', 'queued', 'running', 'up_for_retry', () => false)
    .exhaustive()
}

/**
 * The task-run state machine. Every state is matched exhaustively, so adding a state is a compile
 * error here until each transition says what happens to it.
 */
export function nextTaskState(from: TaskState, t: TaskTransition): TaskState {
  const illegal = (): never => {
    throw new IllegalTransitionError(`a task run in state ${from} cannot ${t.type}`)
  }
  return match([from, t] as const)
    .with(['queued', { type: 'claim' }], ['up_for_retry', { type: 'claim' }], () => 'running' as const)
    .with(['running', { type: 'succeed' }], () => 'success' as const)
    .with(['running', { type: 'fail', retryable: true }], () => 'up_for_retry' as const)
    .with(['running', { type: 'fail', retryable: false }], () => 'failed' as const)
    .with(['running', { type: 'skip' }], () => 'skipped' as const)
    .with(['running', { type: 'lease_expired', exhausted: false }], () => 'queued' as const)
    .with(['running', { type: 'lease_expired', exhausted: true }], () => 'failed' as const)
    .with(['pending', { type: 'promote', to: 'queue' }], () => 'queued' as const)
    .with(['pending', { type: 'promote', to: 'skip' }], () => 'skipped' as const)
    .with(['pending', { type: 'promote', to: 'upstream_failed' }], () => 'upstream_failed' as const)
    .with(
      [P.union('pending', 'queued', 'running', 'up_for_retry'), { type: 'cancel' }],
      () => 'cancelled' as const,
    )
    .with(
      [P.union('failed', 'upstream_failed', 'cancelled', 'skipped'), { type: 'retry' }],
      () => 'pending' as const,
    )
    .with(
      [
        P.union(
          'pending',
          'queued',
          'running',
          'success',
          'failed',
          'up_for_retry',
          'skipped',
          'upstream_failed',
          'cancelled',
        ),
        P._,
      ],
      illegal,
    )
    .exhaustive()
}
