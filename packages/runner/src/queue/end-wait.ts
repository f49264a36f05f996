import { randomUUID } from 'node:crypto'
import type { JsonValue, PipelinePlan } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { formatDuration } from '../format/format-duration.js'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { insertEvents, TASK_RUN } from './event-log.js'
import { finishAttempts } from './finish-attempt.js'
import { state } from './sql-values.js'

/** How a wait ends: its signal's payload (or a sleep's null), or a failure (its timeout). */
export type WaitEnd =
  | { state: 'success'; output: JsonValue; message: string }
  | { state: 'failed'; error: string }

/** The time an ending may take between taking the wait and recording its end; past it, the wait waits again. */
const END_LEASE_MS = 60_000

/**
 * Ends a waiting step (a `.wait` task run, queued and never claimed): takes it as a claim would,
 * fenced on its still waiting (of two signals racing, one takes it), then records the end through
 * finishAttempts, the completion every attempt ends with (its XCom, its downstream promoted, the run
 * ended). A process that dies between the two leaves a lease that expires: the reconciler puts the
 * wait back, waiting. Returns false when the step was not waiting (unknown, not yet, or ended).
 */
export async function endWait(
  database: Database,
  runId: string,
  task: string,
  end: WaitEnd,
  by: string,
): Promise<boolean> {
  const owner = `${by}-${randomUUID().slice(0, 8)}`
  const [taken] = await database.rows<{ id: string; attempt: number; claim: number; isLeaf: boolean }>(sql`
    with taken as (
      update podline.task_runs t
      set state = ${state('running')}, attempt = t.attempt + 1, claims = t.claims + 1, lease_owner = ${owner},
          lease_expires_at = now() + ${END_LEASE_MS} * interval '1 millisecond',
          started_at = coalesce(t.started_at, t.available_at), finished_at = null, error = null
      where t.run_id = ${runId}::uuid and t.task = ${task} and t.map_index = ${NO_MAP_INDEX}
        and t.kind = 'wait' and t.state = ${state('queued')}
      returning t.id, t.run_id, t.task, t.attempt, t.claims, t.is_leaf
    ), logged as (${insertEvents(sql`taken`, {
      ...TASK_RUN,
      fromState: state('queued'),
      toState: state('running'),
      worker: owner,
      message: end.state === 'success' ? end.message : 'its wait timed out',
    })}), started as (
      update podline.runs set state = ${state('running')}, started_at = now()
      where id = ${runId}::uuid and state = ${state('queued')}
    )
    select id::text as id, attempt, claims as claim, is_leaf as "isLeaf" from taken`)
  if (!taken) return false
  const ref = {
    id: taken.id,
    runId,
    task,
    attempt: taken.attempt,
    claim: taken.claim,
    workerId: owner,
    isLeaf: taken.isLeaf,
  }
  const json = end.state === 'success' ? JSON.stringify(end.output) : ''
  const outcome =
    end.state === 'failed'
      ? { state: 'failed' as const, error: end.error }
      : { state: 'success' as const, output: end.output, size: Buffer.byteLength(json), json }
  await finishAttempts(database, owner, [{ ref, outcome }])
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
