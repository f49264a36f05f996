import { sql } from 'drizzle-orm'
import { OPEN_RUN_STATES, OPEN_TASK_STATES } from '../engine/states.js'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { insertEvents, TASK_RUN_OR_ITEM } from './event-log.js'
import { NO_LEASE_NO_DEADLINE } from './lease-columns.js'
import { CANCEL_CHANNEL, state, states } from './sql-values.js'
import { countEndedUpstreams } from './upstream-counts.js'

/**
 * Cancels a run: every task that has not ended becomes cancelled and the run ends cancelled, in one
 * transaction. Workers holding its tasks hear it on LISTEN (and at their next heartbeat at the
 * latest), abort the tasks' signals and delete their pods. Returns false when the run had already ended.
 *
 * Lock order, as everywhere: the run row, then its task runs in id order. The tasks are cancelled by
 * a second statement, so they are read after the run is held: a completion that committed meanwhile
 * is seen as such (the task stays succeeded) instead of being relabelled from a snapshot taken before it.
 */
export async function cancelRun(database: Database, runId: string): Promise<boolean> {
  return database.db.transaction(async (tx) => {
    const [run] = await database.rows<{ id: string }>(
      sql`
        with old as (
          select id, state from podline.runs
          where id = ${runId}::uuid and state in ${states(...OPEN_RUN_STATES)}
          for no key update
        ), run as (
          update podline.runs r set state = ${state('cancelled')}, finished_at = now(), error = 'cancelled'
          from old where r.id = old.id
          returning r.id, old.state as from_state
        ), logged as (${insertEvents(sql`run`, {
          runId: sql`id`,
          fromState: sql`from_state`,
          toState: state('cancelled'),
          message: sql`'cancelled by request'`,
        })})
        select id from run`,
      tx,
    )
    if (!run) return false
    const cancelled = await database.rows<{ task: string }>(
      sql`
        with old as (
          select id, state from podline.task_runs
          where run_id = ${runId}::uuid and state in ${states(...OPEN_TASK_STATES)}
          order by id
          for update
        ), tasks as (
          update podline.task_runs t set state = ${state('cancelled')}, finished_at = now(), ${NO_LEASE_NO_DEADLINE},
                 taken_over = false, error = 'the run was cancelled'
          from old where t.id = old.id
          returning t.run_id, t.task, t.map_index, t.attempt, old.state as from_state
        ), logged as (${insertEvents(sql`tasks`, {
          ...TASK_RUN_OR_ITEM,
          fromState: sql`from_state`,
          toState: state('cancelled'),
          message: sql`'the run was cancelled'`,
        })})
        select task from tasks where map_index = ${NO_MAP_INDEX}`,
      tx,
    )
    // Nothing is promoted in a cancelled run, but its counts stay true to its states, as in any run.
    await countEndedUpstreams(
      database,
      tx,
      runId,
      cancelled.map((c) => c.task),
    )
    await database.rows(sql`select pg_notify(${CANCEL_CHANNEL}, ${runId})`, tx)
    return true
  })
}
