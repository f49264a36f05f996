import type { CallbackEvent } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { states } from '../queue/sql-values.js'
import type { Database } from '../store/database.js'

/** A run's callbacks for `podline status` and the UI. */
export function callbacksOfRun(database: Database, runId: string) {
  return database.rows<{
    event: CallbackEvent
    /** The task run a task's callback answers ('' for the run's own), its item and attempt. */
    task: string
    mapIndex: number
    attempt: number
    state: string
    tries: number
    error: string | null
    /** Epoch milliseconds. */
    finishedAt: number | null
  }>(sql`
    select event, task, map_index as "mapIndex", attempt, state, tries, error, (extract(epoch from finished_at) * 1000)::float8 as "finishedAt"
    from podline.run_callbacks
    where run_id = ${runId}::uuid order by id`)
}

/** Whether a run has callbacks still to run (runLocal waits for them before it returns). */
export async function hasOpenCallbacks(database: Database, runId: string): Promise<boolean> {
  const rows = await database.rows(sql`
    select 1 from podline.run_callbacks where run_id = ${runId}::uuid and state in ${states('queued', 'running')} limit 1`)
  return rows.length > 0
}
