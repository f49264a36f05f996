import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import type { TaskRunId } from './claim-task-runs.js'
import { bigintArray, state } from './sql-values.js'
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

/** The heartbeat's one statement; the worker's lease thread runs it compiled, on its own connection. */
export function heartbeatStatement(worker: WorkerRecord, ids: readonly TaskRunId[]): SQL {
  return sql`
    with held as (
      update podline.task_runs set lease_expires_at = now() + ${worker.leaseMs} * interval '1 millisecond'
      where id = any(${bigintArray(ids)}) and lease_owner = ${worker.id} and state = ${state('running')}
      returning id
    ), beat as (${workerUpsert(worker)})
    select id::text as id from held`
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
