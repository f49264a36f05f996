import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { CANCEL_CHANNEL } from './sql-values.js'

/**
 * Cancels a run: every task that has not ended becomes cancelled and the run ends cancelled, in one
 * transaction. Workers holding its tasks hear it on LISTEN (and at their next heartbeat at the
 * latest), abort the tasks' signals and delete their pods. Returns false when the run had already ended.
 */
export async function cancelRun(database: Database, runId: string): Promise<boolean> {
  return database.db.transaction(async (tx) => {
    const [row] = await database.rows<{ cancelled: boolean }>(
      sql`
        with run as (
          update podline.runs set state = 'cancelled', finished_at = now(), error = 'cancelled'
          where id = ${runId}::uuid and state in ('queued', 'running')
          returning id
        ), tasks as (
          update podline.task_runs t set state = 'cancelled', finished_at = now(), lease_owner = null,
                 lease_expires_at = null, error = 'the run was cancelled'
          from podline.task_runs old
          where t.id = old.id and t.run_id in (select id from run)
            and old.state in ('pending', 'queued', 'running', 'up_for_retry')
          returning t.run_id, t.task, t.attempt, old.state as from_state
        ), logged as (
          insert into podline.events (run_id, task, attempt, from_state, to_state, message)
          select run_id, task, attempt, from_state, 'cancelled', 'the run was cancelled' from tasks
          union all select id, null, null, 'running', 'cancelled', 'cancelled by request' from run
        )
        select exists(select 1 from run) as cancelled`,
      tx,
    )
    if (row?.cancelled) await tx.execute(sql`select pg_notify(${CANCEL_CHANNEL}, ${runId})`)
    return row?.cancelled ?? false
  })
}
