import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import type { TaskRunId } from './claim-task-runs.js'
import { insertEvents, TASK_RUN_OR_ITEM } from './event-log.js'
import { finalizeRunIfDone } from './promote-downstream.js'
import { returnUnstarted } from './release-task-runs.js'
import { state, states } from './sql-values.js'
import { countEndedUpstreams } from './upstream-counts.js'

/**
 * A run whose params fail the pipeline's schema cannot run any task: every task of it not yet
 * started becomes upstream_failed with the reason, and the run ends failed. The worker calls it after
 * failing the attempt it claimed (fatally, so with no retry); tasks already running elsewhere meet
 * the same params and fail the same way. Lock order as everywhere: the run, then its task runs.
 */
export async function failRunOnParams(
  database: Database,
  runId: string,
  reason: string,
  workerId: string,
  /** Task runs of the run this worker claimed ahead and never started: they fail unstarted too. */
  unstarted: ReadonlyArray<{ id: TaskRunId; resumed: boolean }> = [],
): Promise<void> {
  await database.db.transaction(async (tx) => {
    await database.rows(sql`select 1 from podline.runs where id = ${runId}::uuid for no key update`, tx)
    // In the same transaction, so that no claim takes them back between their return and their end.
    await returnUnstarted(database, workerId, unstarted, tx)
    const failed = await database.rows<{ task: string }>(
      sql`
        with failed as (
          update podline.task_runs t set state = ${state('upstream_failed')}, finished_at = now(), error = ${reason}
          from podline.task_runs old
          where t.id = old.id and t.run_id = ${runId}::uuid
            and old.state in ${states('pending', 'queued', 'up_for_retry')}
          returning t.run_id, t.task, t.map_index, t.attempt, old.state as from_state, t.state
        ), logged as (${insertEvents(sql`failed`, {
          ...TASK_RUN_OR_ITEM,
          fromState: sql`from_state`,
          toState: sql`state`,
          worker: workerId,
          message: reason,
        })})
        select task from failed where map_index = ${NO_MAP_INDEX}`,
      tx,
    )
    await countEndedUpstreams(
      database,
      tx,
      runId,
      failed.map((f) => f.task),
    )
    await finalizeRunIfDone(database, tx, runId, workerId)
  })
}
