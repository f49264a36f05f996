import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { bigintArray } from '../store/sql-arrays.js'
import type { TaskRunId } from './claim-task-runs.js'
import { state } from './sql-values.js'
import { type WorkerRecord, workerUpsert } from './workers.js'

/**
 * Extends the leases of the task runs this worker holds, in one statement, and returns the ids it
 * still holds: any id missing was taken away (lease expired and requeued, or run cancelled), and the
 * worker must stop that work since it can no longer complete it. It also marks the worker alive in
 * the workers table, which `trigger` reads to know which versions a live worker serves.
 */
export async function heartbeat(
  database: Database,
  worker: WorkerRecord,
  ids: readonly TaskRunId[],
): Promise<Set<TaskRunId>> {
  const rows = await database.rows<{ id: TaskRunId }>(heartbeatStatement(worker, ids))
  return new Set(rows.map((r) => r.id))
}

/**
 * The heartbeat's one statement; the worker's lease thread runs it compiled, on its own connection.
 *
 * It never waits on a task run's row (SKIP LOCKED), so it cannot be part of a cycle of lock waits:
 * a row locked now is being ended or taken away by a transaction that holds its run (a completion
 * batch of this very worker, a cancel, the reconciler) or marked started by this worker's next claim.
 * Such a row keeps its lease this beat and counts as held; the next beat renews it or finds it gone.
 * Waiting instead deadlocked with the worker's own completion batches, which took the same rows in
 * another order. The ids appear once in the statement: the lease thread substitutes that parameter.
 */
export function heartbeatStatement(worker: WorkerRecord, ids: readonly TaskRunId[]): SQL {
  return sql`
    with asked as (
      select id from podline.task_runs
      where id = any(${bigintArray(ids)}) and lease_owner = ${worker.id} and state = ${state('running')}
    ), held as (
      select t.id from podline.task_runs t
      where t.id in (select id from asked) and t.lease_owner = ${worker.id} and t.state = ${state('running')}
      order by t.id
      for no key update skip locked
    ), renewed as (
      update podline.task_runs t set lease_expires_at = now() + ${worker.leaseMs} * interval '1 millisecond'
      from held where t.id = held.id
    ), beat as (${workerUpsert(worker)})
    select id::text as id from asked`
}

/**
 * Whether a pod's task run still runs at the attempt the pod was made for, or waits to be taken over
 * at that attempt (the next claim attaches to the pod); the orphan sweep deletes pods for which not.
 */
export async function isTaskRunRunning(
  database: Database,
  ref: { runId: string; task: string; attempt: number; mapIndex?: number },
): Promise<boolean> {
  const [row] = await database.rows<{ live: boolean }>(sql`
    select exists(select 1 from podline.task_runs where run_id = ${ref.runId}::uuid and task = ${ref.task}
                  and map_index = ${ref.mapIndex ?? NO_MAP_INDEX} and attempt = ${ref.attempt}
                  and (state = ${state('running')} or (state = ${state('queued')} and taken_over))) as live`)
  return row?.live ?? false
}
