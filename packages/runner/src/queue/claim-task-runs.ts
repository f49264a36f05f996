import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import type { StoredRetryDelay } from '../store/schema.js'
import { state, states, textArray } from './sql-values.js'

/** A task run's id: a bigint, carried as its decimal string (a JS number is exact only to 2^53). */
export type TaskRunId = string

export interface ClaimedTaskRun {
  id: TaskRunId
  runId: string
  pipeline: string
  version: string
  task: string
  kind: 'task' | 'pod'
  /** The attempt this claim runs (ctx.attempt, the pod's name): a takeover continues the same one. */
  attempt: number
  /** This claim's number among the task run's claims: what completion is fenced on. */
  claim: number
  /** The last attempt the retry budget allows (see task_runs.max_attempts). */
  maxAttempts: number
  retries: number
  retryDelay: StoredRetryDelay
  /** True when this claim continues an attempt a dead or draining worker handed back. */
  resumed: boolean
  isLeaf: boolean
  timeoutMs: number | null
  /**
   * Milliseconds left before the attempt's deadline, by the database's clock (0 when it has passed),
   * or null without a timeout. A takeover keeps the deadline the attempt began with.
   */
  msToDeadline: number | null
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
 *
 * A claim begins a new attempt, or continues one that was taken over (taken_over: its worker died
 * or drained), keeping its number, its start and its deadline.
 *
 * Locks: every other writer locks a run before its task runs (see docs/architecture.md). The claim
 * locks task runs first but never waits: task runs through SKIP LOCKED, and the run it starts
 * through SKIP LOCKED as well (a queued run locked by someone else is being cancelled, or started
 * by another claim), so it cannot close a cycle with a writer that holds the run.
 */
export async function claimTaskRuns(database: Database, o: ClaimOptions): Promise<ClaimedTaskRun[]> {
  if (o.limit <= 0 || o.versions.length === 0) return []
  const runFilter = o.runId ? sql`and run_id = ${o.runId}::uuid` : sql``
  return database.rows<ClaimedTaskRun>(sql`
    with picked as (
      select id, state, taken_over from podline.task_runs
      where state in ${states('queued', 'up_for_retry')} and available_at <= now()
        and version = any(${textArray(o.versions)}) ${runFilter}
      order by priority desc nulls last, available_at, id
      limit ${o.limit}
      for update skip locked
    ), claimed as (
      update podline.task_runs t
      set state = ${state('running')},
          attempt = case when picked.taken_over then t.attempt else t.attempt + 1 end,
          timeout_at = case when picked.taken_over then t.timeout_at
                            else now() + t.timeout_ms * interval '1 millisecond' end,
          started_at = case when picked.taken_over then coalesce(t.started_at, now()) else now() end,
          claims = t.claims + 1, taken_over = false, lease_owner = ${o.workerId},
          lease_expires_at = now() + ${o.leaseMs} * interval '1 millisecond',
          finished_at = null, error = null, error_stack = null
      from picked where t.id = picked.id
      returning t.id, t.run_id, t.pipeline, t.version, t.task, t.kind, t.needs, t.attempt, t.claims, t.max_attempts,
                t.retries, t.retry_delay, t.is_leaf, t.timeout_ms, t.timeout_at,
                picked.state as from_state, picked.taken_over as resumed
    ), logged as (
      insert into podline.events (run_id, task, attempt, from_state, to_state, worker, message)
      select run_id, task, attempt, from_state, ${state('running')}, ${o.workerId},
             case when resumed then 'continues attempt ' || attempt || ', taken over' end
      from claimed
    ), starting as (
      select id from podline.runs
      where id in (select run_id from claimed) and state = ${state('queued')}
      for no key update skip locked
    ), started as (
      update podline.runs set state = ${state('running')}, started_at = now()
      where id in (select id from starting)
      returning id
    ), started_logged as (
      insert into podline.events (run_id, from_state, to_state, worker)
      select id, ${state('queued')}, ${state('running')}, ${o.workerId} from started
    )
    select c.id::text as "id", c.run_id as "runId", c.pipeline, c.version, c.task, c.kind, c.attempt,
           c.claims as "claim",
           c.max_attempts as "maxAttempts", c.retries, c.retry_delay as "retryDelay", c.resumed,
           c.is_leaf as "isLeaf", c.timeout_ms as "timeoutMs",
           case when c.timeout_at is not null
             then greatest(0, ceil(extract(epoch from c.timeout_at - now()) * 1000))::float8 end as "msToDeadline",
           r.params,
           coalesce((select jsonb_object_agg(x.task, x.value) from podline.xcoms x
                     where x.run_id = c.run_id and x.key = 'return_value' and x.task = any(c.needs)), '{}'::jsonb)
             as inputs
    from claimed c join podline.runs r on r.id = c.run_id
  `)
}
