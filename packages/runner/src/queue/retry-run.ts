import { sql } from 'drizzle-orm'
import { OPEN_RUN_STATES, type RunState } from '../engine/states.js'
import type { Database, Executor } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { textArray } from '../store/sql-arrays.js'
import { queuedAvailableAt } from './admit-tasks.js'
import { insertEvents, TASK_RUN } from './event-log.js'
import { NO_LEASE_NO_DEADLINE } from './lease-columns.js'
import { queueNextItems } from './mapped-tasks.js'
import { QUEUE_CHANNEL, state, states } from './sql-values.js'
import { recountUpstreams } from './upstream-counts.js'

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
    // Lock order, as everywhere: the run, then its task runs (in id order).
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
    // The chosen task and its descendants, or every task that did not succeed (a task's own rows).
    const chosenTasks = sql`
      with recursive chosen(task) as (
        select task from podline.task_runs
        where run_id = ${runId}::uuid and map_index = ${NO_MAP_INDEX}
          and ${task ? sql`task = ${task}` : sql`state <> ${state('success')}`}
        union
        select d.task from podline.task_runs d join chosen c on c.task = any(d.needs)
        where d.run_id = ${runId}::uuid and d.map_index = ${NO_MAP_INDEX}
      )`
    // A mapped task among them whose inputs stay as they are keeps its items: only the items that
    // did not succeed run again. Any other mapped task among them drops its items and expands anew.
    const kept = await database.rows<{ task: string }>(
      sql`
        ${chosenTasks}
        select p.task from podline.task_runs p
        where p.run_id = ${runId}::uuid and p.map_index = ${NO_MAP_INDEX} and p.task in (select task from chosen)
          and exists (select 1 from podline.task_runs i where i.run_id = p.run_id and i.task = p.task
                      and i.map_index >= 0 and i.state <> ${state('success')})
          and not exists (select 1 from podline.task_runs u where u.run_id = p.run_id and u.map_index = ${NO_MAP_INDEX}
                          and u.task = any(p.needs)
                          and (u.state <> ${state('success')} or u.task in (select task from chosen)))`,
      tx,
    )
    const keptTasks = textArray(kept.map((k) => k.task))
    await database.rows(
      sql`
        ${chosenTasks}, dropped as (
          delete from podline.task_runs where run_id = ${runId}::uuid and map_index >= 0
            and task in (select task from chosen) and not (task = any(${keptTasks}))
        )
        delete from podline.xcoms where run_id = ${runId}::uuid and map_index >= 0
          and task in (select task from chosen) and not (task = any(${keptTasks}))`,
      tx,
    )
    const reset = await database.rows<{ task: string }>(
      sql`
        ${chosenTasks}, old as (
          select id, state from podline.task_runs
          where run_id = ${runId}::uuid and task in (select task from chosen) and map_index = ${NO_MAP_INDEX}
            and not (task = any(${keptTasks}))
          order by id
          for update
        ), moved as (
          update podline.task_runs t
          set state = case when not exists (
                select 1 from podline.task_runs u where u.run_id = t.run_id and u.task = any(t.needs)
                  and u.map_index = ${NO_MAP_INDEX}
                  and (u.state <> ${state('success')} or u.task in (select task from chosen))
              ) then ${state('queued')} else ${state('pending')} end,
              max_attempts = t.attempt + t.retries + 1, lease_expiries = 0, taken_over = false,
              error = null, error_stack = null, available_at = ${queuedAvailableAt(sql`t.concurrency_key`)}, started_at = null,
              finished_at = null, ${NO_LEASE_NO_DEADLINE}
          from old where t.id = old.id
          returning t.task, t.state, t.attempt, t.version, old.state as from_state
        ), cleared as (
          delete from podline.xcoms where run_id = ${runId}::uuid and task in (select task from chosen)
            and not (task = any(${keptTasks}))
        ), logged as (${insertEvents(sql`moved`, {
          runId: sql`${runId}::uuid`,
          task: sql`task`,
          attempt: sql`attempt`,
          fromState: sql`from_state`,
          toState: sql`state`,
          message: sql`'retry requested'`,
        })})
        select task from moved`,
      tx,
    )
    for (const { task: mapped } of kept) reset.push(...(await retryFailedItems(database, tx, runId, mapped)))
    if (reset.length === 0) {
      throw new RetryError(
        `run ${runId} has nothing to retry: every task succeeded; name a task to run it and its downstream tasks again (podline retry ${runId} <task>)`,
      )
    }
    // The tasks reset left a terminal state, which no ending accounts for: their downstream tasks'
    // upstream counts are read again from the run's states (rare, so the whole run at once).
    await recountUpstreams(database, tx, runId)
    // The run's next end answers its callbacks again (one per end; a callback still to run stays).
    await database.rows(
      sql`delete from podline.run_callbacks where run_id = ${runId}::uuid and state in ${states('success', 'failed')}`,
      tx,
    )
    await database.rows(
      sql`
      with r as (
        update podline.runs set state = ${state('running')}, finished_at = null, error = null
        where id = ${runId}::uuid returning id, version
      ), logged as (${insertEvents(sql`r`, {
        runId: sql`id`,
        fromState: sql`${run.state}`,
        toState: state('running'),
        message: sql`'retry requested'`,
      })})
      select pg_notify(${QUEUE_CHANNEL}, version) from r`,
      tx,
    )
    return reset.length
  })
}

/**
 * A mapped task whose items did not all succeed runs those items again and keeps the others: its own
 * row goes back to running (the items' parent) and those items are queued, or under maxParallel go
 * pending and queueNextItems queues as many as it allows.
 */
async function retryFailedItems(
  database: Database,
  tx: Executor,
  runId: string,
  task: string,
): Promise<Array<{ task: string }>> {
  const moved = await database.rows<{ task: string; maxParallel: number | null }>(
    sql`
      with old as (
        select id, map_index, state from podline.task_runs
        where run_id = ${runId}::uuid and task = ${task}
          and (map_index = ${NO_MAP_INDEX} or state <> ${state('success')})
        order by id
        for update
      ), parent as (
        update podline.task_runs t set state = ${state('running')}, error = null, error_stack = null,
               finished_at = null, available_at = now()
        from old where t.id = old.id and old.map_index = ${NO_MAP_INDEX}
        returning t.run_id, t.task, t.attempt, t.max_parallel, old.state as from_state
      ), items as (
        update podline.task_runs t
        set state = case when (select max_parallel from parent) is null then ${state('queued')} else ${state('pending')} end,
            max_attempts = t.attempt + t.retries + 1, lease_expiries = 0,
            taken_over = false, error = null, error_stack = null,
            available_at = ${queuedAvailableAt(sql`t.concurrency_key`)}, started_at = null,
            finished_at = null, ${NO_LEASE_NO_DEADLINE}
        from old where t.id = old.id and old.map_index >= 0
        returning t.run_id, t.task, t.map_index, t.attempt, t.state, old.state as from_state
      ), cleared as (
        delete from podline.xcoms x where x.run_id = ${runId}::uuid and x.task = ${task}
          and (x.map_index = ${NO_MAP_INDEX} or x.map_index in (select map_index from items))
      ), logged as (${insertEvents(
        sql`parent`,
        {
          ...TASK_RUN,
          mapIndex: sql`null::int`,
          fromState: sql`from_state`,
          toState: state('running'),
          message: sql`'retry requested: the items that did not succeed'`,
        },
        {
          from: sql`items`,
          values: {
            ...TASK_RUN,
            mapIndex: sql`map_index`,
            fromState: sql`from_state`,
            toState: sql`state`,
            message: sql`'retry requested'`,
          },
        },
      )})
      select task, max_parallel as "maxParallel" from parent`,
    tx,
  )
  const maxParallel = moved[0]?.maxParallel
  if (typeof maxParallel === 'number') await queueNextItems(database, tx, runId, task, null, maxParallel)
  return moved.map(({ task }) => ({ task }))
}
