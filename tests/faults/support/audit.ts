import type { Sql } from 'postgres'
import { readSideEffects } from './side-effects.js'

export interface AuditReport {
  runs: number
  taskRuns: number
  /** Attempts the events table records as started. */
  attempts: number
  /** Claims the events table records (`→ running`): attempts plus takeovers. */
  executions: number
  sideEffects: number
  problems: string[]
}

interface TaskRunRow {
  run_id: string
  task: string
  state: string
  attempt: number
  error: string | null
  run_state: string
  xcom_attempt: number | null
  pod_name: string | null
}

/**
 * Compares what the events table says happened with what the tasks really did (their side-effect
 * lines), for the given runs:
 * - every run and task run succeeded, with exactly one `success` event at the task's final attempt;
 * - no side effect happened twice within one execution (one call of the task function: a takeover
 *   runs the same attempt again), and every side effect belongs to an attempt the events table
 *   records (`→ running` at that attempt number);
 * - the successful attempt completed (`done`) at least once, each of its executions at most once;
 *   a pod task's pod (the one its pod_name XCom names) ran exactly once, however many workers
 *   attached to it; and the stored return_value XCom is that attempt's;
 * - every task's upstream counts say all its upstreams succeeded, each counted once.
 */
export async function auditRuns(sql: Sql, runIds: readonly string[], sideFile: string): Promise<AuditReport> {
  const problems: string[] = []
  const taskRuns = await sql<TaskRunRow[]>`
    select t.run_id::text, t.task, t.state, t.attempt, t.error, r.state as run_state, x.attempt as xcom_attempt,
           p.value #>> '{}' as pod_name
    from podline.task_runs t join podline.runs r on r.id = t.run_id
    left join podline.xcoms x on x.run_id = t.run_id and x.task = t.task and x.key = 'return_value'
    left join podline.xcoms p on p.run_id = t.run_id and p.task = t.task and p.key = 'pod_name'
    where t.run_id = any(${runIds as string[]}::uuid[])`
  const events = await sql<{ run_id: string; task: string; attempt: number; to_state: string }[]>`
    select run_id::text, task, attempt, to_state from podline.events
    where run_id = any(${runIds as string[]}::uuid[]) and task is not null and to_state in ('running', 'success')`
  const key = (runId: string, task: string, attempt?: number) => `${runId} ${task} ${attempt ?? ''}`
  const started = new Set<string>()
  let executions = 0
  const successes = new Map<string, number[]>()
  for (const e of events) {
    if (e.to_state === 'running') {
      started.add(key(e.run_id, e.task, e.attempt))
      executions++
    } else {
      successes.set(key(e.run_id, e.task), [...(successes.get(key(e.run_id, e.task)) ?? []), e.attempt])
    }
  }
  const runs = new Set(taskRuns.map((t) => t.run_id))
  for (const id of runIds) if (!runs.has(id)) problems.push(`run ${id}: no task runs found`)
  const wanted = new Set(runIds)
  const effects = readSideEffects(sideFile).filter((s) => wanted.has(s.runId))
  const seen = new Map<string, number>()
  for (const s of effects) {
    const line = `${key(s.runId, s.task, s.attempt)} execution ${s.execution} ${s.what}`
    seen.set(line, (seen.get(line) ?? 0) + 1)
    if (!started.has(key(s.runId, s.task, s.attempt)))
      problems.push(`side effect "${line}" of an attempt the events table does not record`)
  }
  const completed = new Map<string, number>()
  for (const s of effects) {
    if (s.what !== 'done' && !s.what.startsWith('pod:')) continue
    const k = key(s.runId, s.task, s.attempt)
    completed.set(k, (completed.get(k) ?? 0) + 1)
  }
  for (const [line, n] of seen) if (n > 1) problems.push(`side effect "${line}" happened ${n} times`)
  for (const t of taskRuns) {
    const where = `run ${t.run_id} task ${t.task}`
    if (t.run_state !== 'success') problems.push(`run ${t.run_id} ended ${t.run_state}`)
    if (t.state !== 'success') problems.push(`${where} is ${t.state}${t.error ? `: ${t.error}` : ''}`)
    const won = successes.get(key(t.run_id, t.task)) ?? []
    if (won.length !== 1 || won[0] !== t.attempt)
      problems.push(`${where}: success events at attempts [${won}], final attempt ${t.attempt}`)
    if (t.xcom_attempt !== null && t.xcom_attempt !== t.attempt)
      problems.push(`${where}: return_value from attempt ${t.xcom_attempt}, final attempt ${t.attempt}`)
    // A pod task's attempt that takes over an expired one attaches to the pod already running (its
    // name is per task run), so the pod that completed may carry an earlier attempt's number.
    const completions = t.pod_name
      ? effects.filter((s) => s.runId === t.run_id && s.task === t.task && s.what === `pod:${t.pod_name}`)
          .length
      : (completed.get(key(t.run_id, t.task, t.attempt)) ?? 0)
    if (t.pod_name ? completions !== 1 : completions < 1)
      problems.push(`${where}: the successful attempt ${t.attempt} left ${completions} completions`)
  }
  // In a run that succeeded, every upstream of every task ended in success, and was counted once.
  const miscounted = await sql<{ run_id: string; task: string; counts: number[] }[]>`
    select run_id::text, task,
           array[cardinality(needs), upstreams_succeeded, upstreams_failed, upstreams_skipped, upstreams_done] as counts
    from podline.task_runs
    where run_id = any(${runIds as string[]}::uuid[]) and map_index = -1
      and (upstreams_succeeded, upstreams_failed, upstreams_skipped, upstreams_done)
          <> (cardinality(needs), 0, 0, cardinality(needs))`
  for (const m of miscounted)
    problems.push(
      `run ${m.run_id} task ${m.task}: upstream counts [needs, succeeded, failed, skipped, done] = [${m.counts}]`,
    )
  return {
    runs: new Set(taskRuns.map((t) => t.run_id)).size,
    taskRuns: taskRuns.length,
    attempts: started.size,
    executions,
    sideEffects: effects.length,
    problems: [...new Set(problems)].slice(0, 30),
  }
}
