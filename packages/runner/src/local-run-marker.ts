import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { state, states } from './queue/sql-values.js'
import { countEndedUpstreams } from './queue/upstream-counts.js'
import type { Database } from './store/database.js'
import { NO_MAP_INDEX } from './store/schema.js'

/**
 * `podline run` (runLocal) on the embedded store is the only worker its run will ever have. If that
 * process is killed (kill -9, a crash, a closed laptop), nothing else would end the run: it would
 * stay `running` forever. A marker file in the store's folder names the run while it lasts; the
 * next process to open the store (it holds the store's lock, so the marker's writer is gone) fails
 * that run with a message saying so.
 */
interface Marker {
  runId: string
  pid: number
}

const markerPath = (dataDir: string) => join(dataDir, 'podline-run.json')

/** Names the run this process is running locally; the returned function removes the marker. */
export function markLocalRun(database: Database, runId: string): () => void {
  if (database.driver !== 'pglite') return () => {}
  const path = markerPath(database.location)
  writeFileSync(path, JSON.stringify({ runId, pid: process.pid } satisfies Marker))
  return () => rmSync(path, { force: true })
}

/** Fails the run of a `podline run` that was killed before it ended. Returns its id, if it failed one. */
export async function failKilledLocalRun(database: Database): Promise<string | undefined> {
  if (database.driver !== 'pglite') return undefined
  const path = markerPath(database.location)
  let marker: Marker
  try {
    marker = JSON.parse(readFileSync(path, 'utf8')) as Marker
  } catch {
    return undefined
  }
  const message = `the previous podline run (pid ${marker.pid}) was killed before this run ended; run its tasks again with podline retry ${marker.runId}`
  const failed = await database.db.transaction(async (tx) => {
    // Same transitions as a worker that died for good: a running task fails, the others are cancelled.
    const [row] = await database.rows<{ failed: boolean; ended: string[] }>(
      sql`
        with run as (
          update podline.runs set state = ${state('failed')}, finished_at = now(), error = ${message}
          where id = ${marker.runId}::uuid and state in ${states('queued', 'running')}
          returning id
        ), tasks as (
          update podline.task_runs t
          set state = case when old.state = ${state('running')} then ${state('failed')} else ${state('cancelled')} end,
              finished_at = now(), lease_owner = null, lease_expires_at = null, error = ${message}
          from podline.task_runs old
          where t.id = old.id and t.run_id in (select id from run)
            and old.state in ${states('pending', 'queued', 'running', 'up_for_retry')}
          returning t.run_id, t.task, t.map_index, t.attempt, old.state as from_state, t.state as to_state
        ), logged as (
          insert into podline.events (run_id, task, attempt, from_state, to_state, message)
          select run_id, task, attempt, from_state, to_state, ${message} from tasks
          union all select id, null, null, ${state('running')}, ${state('failed')}, ${message} from run
        )
        select exists(select 1 from run) as failed,
               array(select task from tasks where map_index = ${NO_MAP_INDEX}) as ended`,
      tx,
    )
    await countEndedUpstreams(database, tx, marker.runId, row?.ended ?? [])
    return row?.failed ?? false
  })
  rmSync(path, { force: true })
  // Killed after its run had ended (or the run is gone): nothing was left running.
  return failed ? marker.runId : undefined
}
