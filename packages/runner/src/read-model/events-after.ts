import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import type { TaskState } from '../store/schema.js'

/** A run's or a task's transition as the UI's live stream carries it (ids as decimal strings). */
export interface Transition {
  id: string
  runId: string
  pipeline: string
  /** Null for the run's own transitions. */
  task: string | null
  attempt: number | null
  /** A run's states are task states too (queued, running, success, failed, cancelled). */
  from: TaskState | null
  to: TaskState
  message: string | null
  at: string
}

/**
 * Transitions with an id above `afterId` (and at most `upTo`), oldest first: a keyset read of the
 * events table by its primary key, whatever its size.
 */
export async function eventsAfter(
  database: Database,
  afterId: bigint,
  options: { limit: number; upTo?: bigint },
): Promise<Transition[]> {
  return database.rows<Transition>(sql`
    select e.id::text as id, e.run_id::text as "runId", r.pipeline, e.task, e.attempt,
           e.from_state as "from", e.to_state as "to", e.message,
           to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at
    from podline.events e join podline.runs r on r.id = e.run_id
    where e.id > ${afterId.toString()}::bigint
      and (${options.upTo?.toString() ?? null}::bigint is null or e.id <= ${options.upTo?.toString() ?? null}::bigint)
    order by e.id
    limit ${options.limit}`)
}

/** The newest event's id; 0 when there is none. */
export async function lastEventId(database: Database): Promise<bigint> {
  const [row] = await database.rows<{ id: string | null }>(
    sql`select max(id)::text as id from podline.events`,
  )
  return BigInt(row?.id ?? 0)
}
