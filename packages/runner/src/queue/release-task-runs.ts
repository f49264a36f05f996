import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import type { TaskRunId } from './claim-task-runs.js'
import { bigintArray, QUEUE_CHANNEL, state } from './sql-values.js'

/**
 * Hands task runs back to the queue when a draining worker gives up on them, so nobody waits for a
 * lease to expire. Not the task's failure: the attempt is taken over (same number, same pod, same
 * deadline) and spends neither the retries nor the lease-expiry budget.
 */
export async function releaseTaskRuns(
  database: Database,
  workerId: string,
  ids: readonly TaskRunId[],
): Promise<void> {
  if (ids.length === 0) return
  await database.rows(sql`
    with released as (
      update podline.task_runs
      set state = ${state('queued')}, taken_over = true, lease_owner = null, lease_expires_at = null,
          available_at = now()
      where id = any(${bigintArray(ids)}) and lease_owner = ${workerId} and state = ${state('running')}
      returning run_id, task, attempt, version
    ), logged as (
      insert into podline.events (run_id, task, attempt, from_state, to_state, worker, message)
      select run_id, task, attempt, ${state('running')}, ${state('queued')}, ${workerId},
             'released by a draining worker; the next claim continues this attempt'
      from released
    )
    select pg_notify(${QUEUE_CHANNEL}, version) from (select distinct version from released) v`)
}
