import type { JsonValue, PipelinePlan } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { formatDuration } from '../format/format-duration.js'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { finishAttempts } from './finish-attempt.js'
import { state } from './sql-values.js'
import { takeQueuedTaskRun } from './take-queued.js'

/** How a wait ends: its signal's payload (or a sleep's null), or a failure (its timeout). */
export type WaitEnd =
  | { state: 'success'; output: JsonValue; message: string }
  | { state: 'failed'; error: string }

/**
 * Ends a waiting step (a `.wait` task run, queued and never claimed): takes it (take-queued.ts),
 * fenced on its still waiting (of two signals racing, one takes it), then records the end through
 * finishAttempts, the completion every attempt ends with (its XCom, its downstream promoted, the run
 * ended). Returns false when the step was not waiting (unknown, not yet, or ended).
 */
export async function endWait(
  database: Database,
  runId: string,
  task: string,
  end: WaitEnd,
  by: string,
): Promise<boolean> {
  const ref = await takeQueuedTaskRun(database, {
    runId,
    task,
    still: sql`t.kind = 'wait'`,
    by,
    message: end.state === 'success' ? end.message : 'its wait timed out',
  })
  if (!ref) return false
  const json = end.state === 'success' ? JSON.stringify(end.output) : ''
  const outcome =
    end.state === 'failed'
      ? { state: 'failed' as const, error: end.error }
      : { state: 'success' as const, output: end.output, size: Buffer.byteLength(json), json }
  await finishAttempts(database, ref.workerId, [{ ref, outcome }])
  return true
}

/** Waits past their time (a sleep's length, a signal's timeout) of the versions given, oldest first. */
export function dueWaits(database: Database, versions: readonly string[]) {
  return database.rows<{ runId: string; task: string; version: string }>(sql`
    select run_id::text as "runId", task, version from podline.task_runs
    where kind = 'wait' and state = ${state('queued')} and map_index = ${NO_MAP_INDEX}
      and timeout_ms is not null and available_at + timeout_ms * interval '1 millisecond' <= now()
      and version = any(array(select jsonb_array_elements_text(${JSON.stringify(versions)}::jsonb)))
    order by available_at
    limit 200`)
}

/** Whether a plan has a wait that ends by time (a sleep, a signal's timeout): someone must watch the clock. */
export function hasTimedWaits(plan: PipelinePlan): boolean {
  return plan.tasks.some(
    (t) => t.kind === 'wait' && (t.options.timeoutMs !== undefined || t.wait?.sleepMs !== undefined),
  )
}

/** Ends the waits of these plans whose time has come: a sleep succeeds (null), a signal's wait fails. */
export async function endDueWaits(database: Database, plans: readonly PipelinePlan[]): Promise<void> {
  const byVersion = new Map(plans.map((plan) => [plan.version, plan]))
  for (const due of await dueWaits(database, [...byVersion.keys()])) {
    const def = byVersion.get(due.version)?.tasks.find((t) => t.name === due.task)
    if (!def?.wait) continue
    await endWait(
      database,
      due.runId,
      due.task,
      def.wait.sleepMs !== undefined
        ? { state: 'success', output: null, message: `slept ${formatDuration(def.wait.sleepMs)}` }
        : {
            state: 'failed',
            error: `waited ${formatDuration(def.options.timeoutMs ?? 0)} for a signal; none came (timeout)`,
          },
      'timer',
    )
  }
}
