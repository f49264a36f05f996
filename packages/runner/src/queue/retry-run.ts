import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { QUEUE_CHANNEL } from './sql-values.js'

export class RetryError extends Error {
  override readonly name = 'RetryError'
}

/**
 * Runs again the tasks of an ended run that did not succeed (or one task and everything downstream
 * of it): they go back to pending (queued when their upstreams succeeded) and the run to running.
 * Successful tasks and their XComs are kept.
 */
export async function retryRun(database: Database, runId: string, task?: string): Promise<number> {
  return database.db.transaction(async (tx) => {
    const [run] = await database.rows<{ state: string }>(
      sql`select state from podline.runs where id = ${runId}::uuid for update`,
      tx,
    )
    if (!run) throw new RetryError(`no run ${runId}; list runs with: podline runs`)
    if (run.state === 'queued' || run.state === 'running') {
      throw new RetryError(`run ${runId} is still ${run.state}; wait for it to end or cancel it first`)
    }
    if (task) {
      const [known] = await database.rows<{ n: number }>(
        sql`select count(*)::int as n from podline.task_runs where run_id = ${runId}::uuid and task = ${task}`,
        tx,
      )
      if (!known?.n)
        throw new RetryError(
          `run ${runId} has no task "${task}"; see its tasks with: podline status ${runId}`,
        )
    }
    // The chosen task and its descendants, or every task that did not succeed.
    const reset = await database.rows<{ task: string }>(
      sql`
        with recursive chosen(task) as (
          select task from podline.task_runs
          where run_id = ${runId}::uuid and ${task ? sql`task = ${task}` : sql`state <> 'success'`}
          union
          select d.task from podline.task_runs d join chosen c on c.task = any(d.needs) where d.run_id = ${runId}::uuid
        ), moved as (
          update podline.task_runs t
          set state = case when not exists (
                select 1 from podline.task_runs u where u.run_id = t.run_id and u.task = any(t.needs)
                  and (u.state <> 'success' or u.task in (select task from chosen))
              ) then 'queued' else 'pending' end,
              attempt = 0, lease_expiries = 0, error = null, error_stack = null, available_at = now(),
              finished_at = null, lease_owner = null, lease_expires_at = null
          where t.run_id = ${runId}::uuid and t.task in (select task from chosen)
          returning t.task, t.state
        ), cleared as (
          delete from podline.xcoms where run_id = ${runId}::uuid and task in (select task from chosen)
        ), logged as (
          insert into podline.events (run_id, task, attempt, to_state, message)
          select ${runId}::uuid, task, 0, state, 'retry requested' from moved
        )
        select task from moved`,
      tx,
    )
    await tx.execute(sql`
      with r as (update podline.runs set state = 'running', finished_at = null, error = null where id = ${runId}::uuid returning id)
      insert into podline.events (run_id, from_state, to_state, message) select id, ${run.state}, 'running', 'retry requested' from r`)
    await tx.execute(sql`select pg_notify(${QUEUE_CHANNEL}, '')`)
    return reset.length
  })
}
