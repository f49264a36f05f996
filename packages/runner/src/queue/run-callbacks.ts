import { CALLBACK_MAX_TRIES, type CallbackEvent } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { textArray } from '../store/sql-arrays.js'
import { NO_LEASE } from './lease-columns.js'
import { state } from './sql-values.js'

/** A run callback taken by a worker, with what its function receives about the run. */
export interface ClaimedCallback {
  id: string
  runId: string
  pipeline: string
  version: string
  event: CallbackEvent
  /** The task run a task's event (or the pipeline's onRetry) answers: '' for the run's own. */
  task: string
  /** Its item's index; NO_MAP_INDEX (-1) for a task that is not mapped. */
  mapIndex: number
  /** The attempt that ended; 0 for the run's own. */
  attempt: number
  /** The attempt's error as recorded when the callback was queued. */
  taskError: string | null
  /** This try's number, from 1. */
  try: number
  params: unknown
  /** The run's state when the callback was taken (a deadline's run may still be open). */
  runState: 'queued' | 'running' | 'success' | 'failed' | 'cancelled'
  logicalDate: string | null
  finishedAt: string | null
  deadlineAt: string | null
  failedTasks: Array<{ task: string; attempt: number; error: string }>
}

/**
 * Takes up to `limit` run callbacks of the served versions that are due, or whose try's lease lapsed
 * (its worker died: the try is begun again, so a callback runs at least once and completes once).
 * SKIP LOCKED: workers racing for them each take others.
 */
export async function claimCallbacks(
  database: Database,
  workerId: string,
  versions: readonly string[],
  limit: number,
  leaseMs: number,
  runId?: string,
): Promise<ClaimedCallback[]> {
  if (versions.length === 0 || limit <= 0) return []
  return database.rows<ClaimedCallback>(sql`
    with due as (
      select id from podline.run_callbacks
      where version = any(${textArray(versions)})
        and ((state = ${state('queued')} and available_at <= now())
             or (state = ${state('running')} and lease_expires_at < now()))
        ${runId ? sql`and run_id = ${runId}::uuid` : sql``}
      order by available_at, id
      limit ${limit}
      for update skip locked
    ), taken as (
      update podline.run_callbacks c
      set state = ${state('running')}, tries = c.tries + 1, lease_owner = ${workerId},
          lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
      from due where c.id = due.id
      returning c.id, c.run_id, c.pipeline, c.version, c.event, c.tries, c.task, c.map_index, c.attempt, c.task_error
    )
    select t.id::text as "id", t.run_id::text as "runId", t.pipeline, t.version, t.event, t.tries as "try",
           t.task, t.map_index as "mapIndex", t.attempt, t.task_error as "taskError",
           r.params, r.state as "runState", to_char(r.logical_date at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "logicalDate",
           to_char(r.finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "finishedAt",
           to_char(r.deadline_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "deadlineAt",
           coalesce((select jsonb_agg(jsonb_build_object('task', f.task, 'attempt', f.attempt, 'error', coalesce(f.error, f.state))
                                      order by f.id)
                     from podline.task_runs f
                     where f.run_id = t.run_id and f.state = ${state('failed')}), '[]'::jsonb) as "failedTasks"
    from taken t join podline.runs r on r.id = t.run_id`)
}

/**
 * Records a try's end, fenced by its lease: false when the lease was lost (another worker took the
 * callback over). A failed try is queued again after 1 s, 2 s, … until CALLBACK_MAX_TRIES are spent.
 */
export async function finishCallback(
  database: Database,
  workerId: string,
  callback: Pick<ClaimedCallback, 'id' | 'try'>,
  error: string | undefined,
): Promise<boolean> {
  const retry = error !== undefined && callback.try < CALLBACK_MAX_TRIES
  const next = error === undefined ? state('success') : retry ? state('queued') : state('failed')
  const rows = await database.rows<{ id: string }>(sql`
    update podline.run_callbacks
    set state = ${next}, ${NO_LEASE}, error = ${error ?? null},
        available_at = now() + make_interval(secs => ${retry ? 2 ** (callback.try - 1) : 0}),
        finished_at = ${retry ? null : sql`now()`}
    where id = ${callback.id}::bigint and lease_owner = ${workerId} and state = ${state('running')}
    returning id`)
  return rows.length > 0
}

/** Renews the leases of the tries this worker runs; those it no longer holds are left alone. */
export async function renewCallbackLeases(
  database: Database,
  workerId: string,
  ids: readonly string[],
  leaseMs: number,
): Promise<void> {
  await database.rows(sql`
    update podline.run_callbacks set lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
    where id = any(${textArray(ids)}::bigint[]) and lease_owner = ${workerId} and state = ${state('running')}`)
}
