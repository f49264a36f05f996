import { randomUUID } from 'node:crypto'
import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import type { AttemptRef } from './attempt-fence.js'
import { insertEvents, TASK_RUN } from './event-log.js'
import { state } from './sql-values.js'

/** The time an ending may take between taking the task run and recording its end; past it, it is queued again. */
const TAKE_LEASE_MS = 60_000

/**
 * Takes one queued task run as a claim would (its attempt and claim counted, a lease of its own) for
 * an end decided outside any attempt: a wait's signal or timeout, a key that cannot be computed from
 * the inputs. Fenced on its state and on `still` (a condition on `t`): of two callers racing, one
 * takes it. The caller records the end through finishAttempts with the ref returned; a process that
 * dies between the two leaves a lease that expires, and the reconciler queues the task run again.
 * Undefined when the task run was not there to take.
 */
export async function takeQueuedTaskRun(
  database: Database,
  o: { runId: string; task: string; still: SQL; by: string; message: string },
): Promise<AttemptRef | undefined> {
  const owner = `${o.by}-${randomUUID().slice(0, 8)}`
  const [taken] = await database.rows<{ id: string; attempt: number; claim: number; isLeaf: boolean }>(sql`
    with taken as (
      update podline.task_runs t
      set state = ${state('running')}, attempt = t.attempt + 1, claims = t.claims + 1, lease_owner = ${owner},
          lease_expires_at = now() + ${TAKE_LEASE_MS} * interval '1 millisecond',
          started_at = coalesce(t.started_at, t.available_at), finished_at = null, error = null
      where t.run_id = ${o.runId}::uuid and t.task = ${o.task} and t.map_index = ${NO_MAP_INDEX}
        and t.state = ${state('queued')} and ${o.still}
      returning t.id, t.run_id, t.task, t.attempt, t.claims, t.is_leaf
    ), logged as (${insertEvents(sql`taken`, {
      ...TASK_RUN,
      fromState: state('queued'),
      toState: state('running'),
      worker: owner,
      message: o.message,
    })}), started as (
      update podline.runs set state = ${state('running')}, started_at = now()
      where id = ${o.runId}::uuid and state = ${state('queued')}
    )
    select id::text as id, attempt, claims as claim, is_leaf as "isLeaf" from taken`)
  if (!taken) return undefined
  return {
    id: taken.id,
    runId: o.runId,
    task: o.task,
    attempt: taken.attempt,
    claim: taken.claim,
    workerId: owner,
    isLeaf: taken.isLeaf,
  }
}
