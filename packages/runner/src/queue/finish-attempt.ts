import type { JsonValue } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import type { TaskState } from '../engine/states.js'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { inSpan } from '../tracing/tracing.js'
import type { TaskRunId } from './claim-task-runs.js'
import { expandMappedTask, settleMappedItems } from './mapped-tasks.js'
import { promoteDownstream } from './promote-downstream.js'
import { QUEUE_CHANNEL, state } from './sql-values.js'

/** How an attempt ended, as the worker reports it. */
export type AttemptOutcome =
  | {
      state: 'success'
      output: JsonValue | undefined
      size: number
      /** The output as JSON when it was already written (to measure it): not serialised twice. */
      json?: string
    }
  | {
      state: 'failed' | 'up_for_retry'
      error: string
      stack?: string
      /** For up_for_retry: the backoff. The due time is the database's now() plus it, not a worker's clock. */
      retryDelayMs?: number
    }
  | { state: 'skipped'; reason: string }
  /** A mapped task's own attempt evaluated `over`: its items become task runs (mapped-tasks.ts). */
  | { state: 'expanded'; items: JsonValue[] }

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError'
}

export interface AttemptRef {
  id: TaskRunId
  runId: string
  task: string
  attempt: number
  /** The claim that began this execution (ClaimedTaskRun.claim): the fence. */
  claim: number
  workerId: string
  /** No task needs this one: completion then skips the downstream query. */
  isLeaf?: boolean
  /** The item of a mapped task this attempt runs; undefined for a task's own row. */
  mapIndex?: number | null | undefined
}

/*
 * Completion in one transaction. The first statement is fenced: it matches only while this worker
 * still holds the lease of this claim (not merely this attempt: a takeover runs the same attempt), so a worker presumed dead cannot overwrite a newer attempt.
 * The same statement stores the return_value XCom and the event and locks the run row (see
 * promoteDownstream for why), so a leaf task completes in two statements and a chain step in three:
 * round trips are what a completion costs on a fast server.
 *
 * Lock order: the run row first, then the task run (as cancel, retry and reconcile do). The run is
 * locked in a CTE that the UPDATE's WHERE depends on, so it is taken before the task run's row.
 */
export function finishAttempt(database: Database, ref: AttemptRef, outcome: AttemptOutcome): Promise<void> {
  // Traced as XCom I/O too: a success stores its return_value in the same statement.
  return inSpan('attempt finish', { 'podline.outcome': outcome.state }, () =>
    outcome.state === 'expanded'
      ? expandMappedTask(database, ref, outcome.items)
      : storeOutcome(database, ref, outcome),
  )
}

async function storeOutcome(
  database: Database,
  ref: AttemptRef,
  outcome: Exclude<AttemptOutcome, { state: 'expanded' }>,
): Promise<void> {
  const next: TaskState = outcome.state
  const error = outcome.state === 'failed' || outcome.state === 'up_for_retry' ? outcome.error : null
  const stack =
    outcome.state === 'failed' || outcome.state === 'up_for_retry' ? (outcome.stack ?? null) : null
  const message = outcome.state === 'skipped' ? outcome.reason : error
  const retryDelayMs = outcome.state === 'up_for_retry' ? (outcome.retryDelayMs ?? 0) : null
  const output =
    outcome.state === 'success' && outcome.output !== undefined
      ? (outcome.json ?? JSON.stringify(outcome.output))
      : null
  const size = outcome.state === 'success' ? outcome.size : 0
  await database.db.transaction(async (tx) => {
    const [row] = await database.rows<{ ok: boolean }>(
      sql`
        with locked as (
          select id from podline.runs where id = ${ref.runId}::uuid for no key update
        ), done as (
          update podline.task_runs
          set state = ${next}, finished_at = now(), lease_owner = null, lease_expires_at = null, timeout_at = null,
              error = ${error}, error_stack = ${stack},
              available_at = coalesce(now() + ${retryDelayMs}::float8 * interval '1 millisecond', available_at)
          where id = ${ref.id}::bigint and lease_owner = ${ref.workerId} and claims = ${ref.claim}
            and state = ${state('running')} and exists (select 1 from locked)
          returning run_id, task, map_index, attempt, version
        ), stored as (
          insert into podline.xcoms (run_id, task, map_index, key, value, size, attempt)
          select run_id, task, map_index, 'return_value', ${output}::jsonb, ${size}, attempt from done where ${output}::jsonb is not null
          on conflict (run_id, task, map_index, key) do update set value = excluded.value, size = excluded.size, attempt = excluded.attempt, created_at = now()
        ), logged as (
          insert into podline.events (run_id, task, map_index, attempt, from_state, to_state, worker, message)
          select run_id, task, nullif(map_index, ${NO_MAP_INDEX}), attempt, ${state('running')}, ${next}, ${ref.workerId}, ${message} from done
        ), woken as (
          select pg_notify(${QUEUE_CHANNEL}, version) from done where ${next} = ${state('up_for_retry')}
        )
        select exists(select 1 from done) as ok, (select count(*) from woken) as n`,
      tx,
    )
    if (!row?.ok) {
      throw new LeaseLostError(
        `task "${ref.task}" attempt ${ref.attempt} of run ${ref.runId}: this worker no longer holds its lease ` +
          '(it expired or the run was cancelled); the result was discarded and the current attempt stands',
      )
    }
    if (next !== 'up_for_retry' && typeof ref.mapIndex === 'number') {
      await settleMappedItems(database, tx, ref.runId, ref.task, ref.workerId)
    } else if (next !== 'up_for_retry') {
      await promoteDownstream(database, tx, ref.runId, ref.isLeaf ? [] : [ref.task], ref.workerId, {
        runLocked: true,
      })
    }
  })
}

/** Stores an XCom of a running attempt right away (pod_name, pod_namespace), fenced like completion. */
export function putXcom(database: Database, ref: AttemptRef, key: string, value: JsonValue): Promise<void> {
  return inSpan('xcom store', { 'podline.xcom_key': key }, () => storeXcom(database, ref, key, value))
}

async function storeXcom(database: Database, ref: AttemptRef, key: string, value: JsonValue): Promise<void> {
  const json = JSON.stringify(value)
  const [row] = await database.rows<{ ok: boolean }>(sql`
    with live as (
      select run_id, task, map_index, attempt from podline.task_runs
      where id = ${ref.id}::bigint and lease_owner = ${ref.workerId} and claims = ${ref.claim}
        and state = ${state('running')}
    ), stored as (
      insert into podline.xcoms (run_id, task, map_index, key, value, size, attempt)
      select run_id, task, map_index, ${key}, ${json}::jsonb, ${Buffer.byteLength(json)}, attempt from live
      on conflict (run_id, task, map_index, key) do update set value = excluded.value, size = excluded.size, attempt = excluded.attempt, created_at = now()
    )
    select exists(select 1 from live) as ok`)
  if (!row?.ok)
    throw new LeaseLostError(`task "${ref.task}" attempt ${ref.attempt}: lease lost, XCom ${key} not stored`)
}
