import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { bigintArray } from './sql-values.js'

/**
 * Extends the leases of the task runs this worker holds, in one statement, and returns the ids it
 * still holds: any id missing was taken away (lease expired and requeued, or run cancelled), and the
 * worker must stop that work since it can no longer complete it.
 */
export async function heartbeat(
  database: Database,
  workerId: string,
  ids: readonly number[],
  leaseMs: number,
): Promise<Set<number>> {
  const rows = await database.rows<{ id: number | string }>(heartbeatStatement(workerId, ids, leaseMs))
  return new Set(rows.map((r) => Number(r.id)))
}

/** The heartbeat's one statement; the worker's lease thread runs it compiled, on its own connection. */
export function heartbeatStatement(workerId: string, ids: readonly number[], leaseMs: number): SQL {
  return sql`
    with held as (
      update podline.task_runs set lease_expires_at = now() + ${leaseMs} * interval '1 millisecond'
      where id = any(${bigintArray(ids)}) and lease_owner = ${workerId} and state = 'running'
      returning id
    ), beat as (
      update podline.workers set heartbeat_at = now() where id = ${workerId}
    )
    select id::int as id from held`
}

/**
 * Whether a pod's task run still runs at the attempt the pod was made for (pods name the attempt
 * without the takeovers from dead workers, see Worker); the orphan sweep deletes pods for which not.
 */
export async function isTaskRunRunning(
  database: Database,
  ref: { runId: string; task: string; attempt: number },
): Promise<boolean> {
  const [row] = await database.rows<{ live: boolean }>(sql`
    select exists(select 1 from podline.task_runs where run_id = ${ref.runId}::uuid and task = ${ref.task}
                  and ((state = 'running' and attempt - lease_expiries = ${ref.attempt})
                    -- requeued after its worker died: the next claim will attach to this pod
                    or (state = 'queued' and attempt + 1 - lease_expiries = ${ref.attempt}))) as live`)
  return row?.live ?? false
}
