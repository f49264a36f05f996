import { sql } from 'drizzle-orm'
import { OPEN_RUN_STATES, type RunState } from '../engine/states.js'
import type { Database } from '../store/database.js'
import { QUEUE_CHANNEL, state } from './sql-values.js'

export class RetryError extends Error {
  override readonly name = 'RetryError'
}

/**
 * Runs again the tasks of an ended run that did not succeed (or one task and everything downstream
 * of it): they go back to pending (queued when their upstreams succeeded) and the run to running.
 * Successful tasks and their XComs are kept. History is kept too: attempts go on from where they
 * were (a pod task gets a new pod), each task gets its `retries` again from its current attempt,
 * and earlier attempts' events and logs stay. With nothing to run again, nothing changes.
 */
export async function retryRun(database: Database, runId: string, task?: string): Promise<number> {
  return database.db.transaction(async (tx) => {
    // Lock order, as everywhere: the run, then its task runs.
    const [run] = await database.rows<{ state: RunState }>(
      sql`select state from podline.runs where id = ${runId}::uuid for no key update`,
      tx,
    )
    if (!run) throw new RetryError(`no run ${runId}; list runs with: podline runs`)
    if ((OPEN_RUN_STATES as readonly RunState[]).includes(run.state)) {
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
          where run_id = ${runId}::uuid and ${task ? sql`task = ${task}` : sql`state <> ${state('success')}`}
          union
          select d.task from podline.task_runs d join chosen c on c.task = any(d.needs) where d.run_id = ${runId}::uuid
        ), old as (
          select id, state from podline.task_runs
          where run_id = ${runId}::uuid and task in (select task from chosen)
          for update
        ), moved as (
          update podline.task_runs t
          set state = case when not exists (
                select 1 from podline.task_runs u where u.run_id = t.run_id and u.task = any(t.needs)
                  and (u.state <> ${state('success')} or u.task in (select task from chosen))
              ) then ${state('queued')} else ${state('pending')} end,
              max_attempts = t.attempt + t.retries + 1, lease_expiries = 0, taken_over = false,
              error = null, error_stack = null, available_at = now(), started_at = null,
              finished_at = null, lease_owner = null, lease_expires_at = null, timeout_at = null
          from old where t.id = old.id
          returning t.task, t.state, t.attempt, t.version, old.state as from_state
        ), cleared as (
          delete from podline.xcoms where run_id = ${runId}::uuid and task in (select task from chosen)
        ), logged as (
          insert into podline.events (run_id, task, attempt, from_state, to_state, message)
          select ${runId}::uuid, task, attempt, from_state, state, 'retry requested' from moved
        )
        select task from moved`,
      tx,
    )
    if (reset.length === 0) {
      throw new RetryError(
        `run ${runId} has nothing to retry: every task succeeded; name a task to run it and its downstream tasks again (podline retry ${runId} <task>)`,
      )
    }
    await database.rows(
      sql`
      with r as (
        update podline.runs set state = ${state('running')}, finished_at = null, error = null
        where id = ${runId}::uuid returning id, version
      ), logged as (
        insert into podline.events (run_id, from_state, to_state, message)
        select id, ${run.state}, ${state('running')}, 'retry requested' from r
      )
      select pg_notify(${QUEUE_CHANNEL}, version) from r`,
      tx,
    )
    return reset.length
  })
}
