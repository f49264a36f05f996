import type { RunStatus } from '@podline/runner'
import { firstLine } from './format.js'

type Task = RunStatus['tasks'][number]

/**
 * The tasks of a successful run that failed, or could not run because an upstream failed. A run's
 * state is its leaf tasks' (those no other task needs), as in Airflow: a failure that a downstream
 * `triggerRule` let through leaves the run `success`, and its summary must not hide it.
 */
export function absorbedFailures(status: RunStatus): Task[] {
  if (status.run.state !== 'success') return []
  return status.tasks.filter((t) => t.state === 'failed' || t.state === 'upstream_failed')
}

/** The lines a summary adds for them: none when every task succeeded (or was skipped on purpose). */
export function absorbedFailureLines(status: RunStatus, safe: (text: string) => string): string[] {
  const tasks = absorbedFailures(status)
  if (tasks.length === 0) return []
  const n = tasks.length
  return [
    `run ${status.run.id} succeeded, but ${n} of its tasks did not: a run's state is that of its last tasks (those no other task needs), and a trigger rule ran them anyway`,
    ...tasks.map(
      (t) =>
        `  ${t.task}: ${t.state.replace('_', ' ')}` +
        (t.state === 'failed'
          ? ` (attempt ${t.attempt}/${t.maxAttempts})${t.error ? `: ${safe(firstLine(t.error))}` : ''}`
          : ''),
    ),
  ]
}
