import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { bigintArray, QUEUE_CHANNEL } from './sql-values.js'

/** Hands task runs back to the queue when a draining worker gives up on them, so nobody waits for a lease to expire. */
export async function releaseTaskRuns(
  database: Database,
  workerId: string,
  ids: readonly number[],
): Promise<void> {
  if (ids.length === 0) return
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`
      with released as (
        update podline.task_runs set state = 'queued', lease_owner = null, lease_expires_at = null, available_at = now()
        where id = any(${bigintArray(ids)}) and lease_owner = ${workerId} and state = 'running'
        returning run_id, task, attempt
      )
      insert into podline.events (run_id, task, attempt, from_state, to_state, worker, message)
      select run_id, task, attempt, 'running', 'queued', ${workerId}, 'released by a draining worker' from released`)
    await tx.execute(sql`select pg_notify(${QUEUE_CHANNEL}, '')`)
  })
}
