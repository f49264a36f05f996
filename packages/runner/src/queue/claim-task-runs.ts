import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { textArray } from './sql-values.js'

export interface ClaimedTaskRun {
  id: number
  runId: string
  pipeline: string
  version: string
  task: string
  kind: 'task' | 'pod'
  attempt: number
  maxAttempts: number
  leaseExpiries: number
  isLeaf: boolean
  timeoutMs: number | null
  params: unknown
  /** return_value XComs of the tasks in `needs`, keyed by task name. */
  inputs: Record<string, unknown>
}

export interface ClaimOptions {
  workerId: string
  /** Pipeline versions this worker has loaded: it never claims work of code it does not have. */
  versions: readonly string[]
  limit: number
  leaseMs: number
  /** Restrict to one run (runLocal on a shared database). */
  runId?: string
}

/*
 * The claim: one statement that picks the head of the queue with FOR UPDATE SKIP LOCKED (concurrent
 * workers skip each other's rows instead of waiting), leases the rows, records the transitions as
 * events, marks their runs running, and returns each task's params and upstream outputs. One round
 * trip per batch instead of four; the partial index task_runs_claim_idx matches the WHERE and ORDER
 * BY (`nulls last` included: a plain `desc` would not match the index and sorts every queued row),
 * so the scan reads only the head of the queue. Priority first, then age (available_at, then id).
 */
export async function claimTaskRuns(database: Database, o: ClaimOptions): Promise<ClaimedTaskRun[]> {
  if (o.limit <= 0 || o.versions.length === 0) return []
  const runFilter = o.runId ? sql`and run_id = ${o.runId}::uuid` : sql``
  return database.rows<ClaimedTaskRun>(sql`
    with picked as (
      select id, state from podline.task_runs
      where state in ('queued', 'up_for_retry') and available_at <= now()
        and version = any(${textArray(o.versions)}) ${runFilter}
      order by priority desc nulls last, available_at, id
      limit ${o.limit}
      for update skip locked
    ), claimed as (
      update podline.task_runs t
      set state = 'running', attempt = t.attempt + 1, lease_owner = ${o.workerId},
          lease_expires_at = now() + ${o.leaseMs} * interval '1 millisecond',
          timeout_at = now() + t.timeout_ms * interval '1 millisecond',
          started_at = now(), finished_at = null, error = null, error_stack = null
      from picked where t.id = picked.id
      returning t.id, t.run_id, t.pipeline, t.version, t.task, t.kind, t.needs, t.attempt, t.max_attempts,
                t.lease_expiries, t.is_leaf, t.timeout_ms, picked.state as from_state
    ), logged as (
      insert into podline.events (run_id, task, attempt, from_state, to_state, worker)
      select run_id, task, attempt, from_state, 'running', ${o.workerId} from claimed
    ), started as (
      update podline.runs set state = 'running', started_at = now()
      where id in (select run_id from claimed) and state = 'queued'
      returning id
    ), started_logged as (
      insert into podline.events (run_id, from_state, to_state, worker)
      select id, 'queued', 'running', ${o.workerId} from started
    )
    select c.id::int as "id", c.run_id as "runId", c.pipeline, c.version, c.task, c.kind, c.attempt,
           c.max_attempts as "maxAttempts", c.lease_expiries as "leaseExpiries", c.is_leaf as "isLeaf", c.timeout_ms as "timeoutMs",
           r.params,
           coalesce((select jsonb_object_agg(x.task, x.value) from podline.xcoms x
                     where x.run_id = c.run_id and x.key = 'return_value' and x.task = any(c.needs)), '{}'::jsonb)
             as inputs
    from claimed c join podline.runs r on r.id = c.run_id
  `)
}
