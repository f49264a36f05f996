import type { RunStatus } from './read-model/run-status.js'

/**
 * A run fails when a leaf task failed or could not run because an upstream failed. The task to
 * blame is the failed one that such a leaf traces back to (the earliest to fail when there are
 * several), not merely the first failed task: one whose failure a trigger rule absorbed did not
 * fail the run.
 */
export function taskThatFailedTheRun(
  p: { readonly tasks: readonly { readonly name: string; readonly needs: readonly string[] }[] },
  status: RunStatus,
): RunStatus['tasks'][number] | undefined {
  const byName = new Map(status.tasks.map((t) => [t.task, t]))
  const needs = new Map(p.tasks.map((t) => [t.name, t.needs]))
  const needed = new Set(p.tasks.flatMap((t) => t.needs))
  const blamed = new Set<string>()
  const seen = new Set<string>()
  const trace = (name: string): void => {
    if (seen.has(name)) return
    seen.add(name)
    const task = byName.get(name)
    if (task?.state === 'failed') blamed.add(name)
    else if (task?.state === 'upstream_failed') for (const up of needs.get(name) ?? []) trace(up)
  }
  for (const t of p.tasks) if (!needed.has(t.name)) trace(t.name)
  const time = (t: RunStatus['tasks'][number]) => new Date(t.finishedAt ?? 0).getTime()
  const candidates = blamed.size
    ? [...blamed].map((name) => byName.get(name)).filter((t) => t !== undefined)
    : status.tasks.filter((t) => t.state === 'failed')
  return candidates.sort((a, b) => time(a) - time(b))[0]
}
