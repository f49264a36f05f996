import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { ADMITTED, NO_MAP_INDEX, type StoredRetryDelay } from '../store/schema.js'
import { bigintArray, textArray } from '../store/sql-arrays.js'
import type { TraceCarrier } from '../tracing/tracing.js'
import type { StoredAssetEvent } from './create-run.js'
import { insertEvents, TASK_RUN_OR_ITEM } from './event-log.js'
import { partSlots, partsOf, runningSlots } from './pool-slots.js'
import { state, states } from './sql-values.js'
import { upstreamValues } from './upstream-values.js'

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
  /** The asset events that created the run, by asset name (`ctx.assets`); null for other runs. */
  assets: Record<string, StoredAssetEvent> | null
  /** The run bypasses its tasks' caches (`--no-cache`). */
  noCache: boolean
  /** How long it waited to be claimed since it became claimable (queued, retry due, handed back), by the database's clock. */
  waitedMs: number
  /** The run's trace context: the attempt's span is its child. */
  traceContext: TraceCarrier | null
  /** A scheduled run's tick and the start of its data interval, in epoch milliseconds; null otherwise. */
  logicalDate: number | null
  intervalStart: number | null
  /** The item of a mapped task this task run is; null for a task's own row (which, mapped, evaluates `over`). */
  mapIndex: number | null
  /** That item's element of the list `over` returned; null for a task's own row. */
  mapItem: unknown
  /**
   * return_value XComs of the tasks in `needs`, keyed by task name (a mapped task's: the array).
   * Null for a mapped task's item: all items of a task share these values, which may be the very
   * list `over` split, so the worker loads them once (`loadItemInputs`) instead of every claim
   * carrying them again (10,000 items would carry a list of 10,000 10,000 times).
   */
  inputs: Record<string, unknown> | null
  /** For an item: which upstream values its inputs are (each need's XCom and when it was written). */
  inputsKey: string | null
}

/** Every kind of task run: a claim without a kind probes the head of each kind's queue. */
const TASK_KINDS: ReadonlyArray<ClaimedTaskRun['kind']> = ['task', 'pod']

/** A pool that tasks of a served version and kind take slots of: one head of the queue to probe. */
export interface PoolLane {
  version: string
  kind: ClaimedTaskRun['kind']
  pool: string
}

export interface ClaimOptions {
  workerId: string
  /** Pipeline versions this worker has loaded: it never claims work of code it does not have. */
  versions: readonly string[]
  limit: number
  /**
   * Only task runs of this kind: inline tasks and pod tasks have separate limits on a worker (a pod
   * task waits on its pod and holds no inline slot), so each kind is claimed up to its own free slots.
   */
  kind?: ClaimedTaskRun['kind']
  leaseMs: number
  /** Restrict to one run (runLocal on a shared database). */
  runId?: string
  /**
   * How many of the claimed rows start at once; the rest wait in the worker's local queue (claim
   * ahead) and are claimed unstarted: `started_at` stays null until `started` reports them.
   * Default: all of them.
   */
  startNow?: number
  /** Task runs this worker claimed ahead and has since started: their `started_at` is set now. */
  started?: readonly TaskRunId[]
  /**
   * The pools the served versions' tasks take slots of (from their plans): each is probed for its
   * own head, and its task runs are claimed only while its slots allow. A task run of a pool not
   * listed here is never claimed. Default: none.
   */
  pools?: readonly PoolLane[]
}

/*
 * The claim: one statement that picks the head of the queue with FOR UPDATE SKIP LOCKED (concurrent
 * workers skip each other's rows instead of waiting), leases the rows, records the transitions as
 * events, marks their runs running, and returns each task's params and upstream outputs: one round
 * trip per batch instead of four. Priority first, then age (available_at, then id).
 *
 * Why per version: the head of the queue is read once for each version the worker serves (a
 * LATERAL probe of task_runs_claim_version_idx, in the index's order, `nulls last` included), and
 * the few heads are merged. Measured on PostgreSQL 15 with 20,000 queued runs of a pipeline no
 * worker loads, queued before 2,000 runs of the worker's own (picking 4, mean of 50):
 *   - one ordered scan of a queue-wide (priority, available_at, id) index, filtering by version
 *     (the previous claim): 771 buffers, 16.7 ms, since it walks past every row it cannot take;
 *     with nothing of its own queued, 741 buffers and 26 ms for an empty claim;
 *   - `version = any(…)` over the (version, …) index: 102 buffers, 2.3 ms, since the planner cannot
 *     keep the order across versions and sorts all 2,000 of the worker's queued rows;
 *   - this statement: 18 buffers, 0.07 ms (13 buffers for an empty claim), whatever is queued for
 *     other versions. claim-plan.test.ts keeps it so.
 * Per kind as well: a worker claims inline tasks and pods up to separate limits (`kind`), so the
 * index leads with (version, kind) and each probe reads one kind's head; a claim for inline tasks
 * costs the same with 20,000 pods queued ahead of them (claim-plan.test.ts). A claim without a
 * kind probes both and merges them.
 * The cost: each probe locks up to `limit` rows, so a claim holds at most limit × versions × kinds
 * rows for the instant of its statement, and a concurrent claim skips the ones it does not take.
 *
 * A claim begins a new attempt, or continues one that was taken over (taken_over: its worker died
 * or drained), keeping its number, its start and its deadline.
 *
 * Locks: every other writer locks a run before its task runs (see docs/architecture.md). The claim
 * locks task runs first but never waits: task runs through SKIP LOCKED, and the run it starts
 * through SKIP LOCKED as well (a queued run locked by someone else is being cancelled, or started
 * by another claim), so it cannot close a cycle with a writer that holds the run. Its events'
 * foreign key takes their runs FOR KEY SHARE, which waits only for a prune's FOR UPDATE, and a
 * prune never waits for anything (prune.ts).
 */
export async function claimTaskRuns(database: Database, o: ClaimOptions): Promise<ClaimedTaskRun[]> {
  if ((o.limit <= 0 || o.versions.length === 0) && !o.started?.length) return []
  return database.rows<ClaimedTaskRun>(claimStatement(o))
}

/** The claim's statement, apart so that a test can read its plan. */
export function claimStatement(o: ClaimOptions): SQL {
  const kinds = o.kind ? [o.kind] : TASK_KINDS
  const lanes = (o.pools ?? []).filter((l) => kinds.includes(l.kind) && o.versions.includes(l.version))
  // A worker whose versions use no pool claims with the statement it always had.
  const picked = lanes.length === 0 ? pickedWithoutPools(o, kinds) : pickedWithPools(o, kinds, lanes)
  return sql`
    with ${picked}, claimed as (
      update podline.task_runs t
      set state = ${state('running')},
          attempt = case when picked.taken_over then t.attempt else t.attempt + 1 end,
          timeout_at = case when picked.taken_over then t.timeout_at
                            else now() + t.timeout_ms * interval '1 millisecond' end,
          started_at = case when picked.taken_over then coalesce(t.started_at, now())
                            when picked.rank <= ${o.startNow ?? o.limit} then now() end,
          claims = t.claims + 1, taken_over = false, lease_owner = ${o.workerId}, pool_part = picked.part,
          lease_expires_at = now() + ${o.leaseMs} * interval '1 millisecond',
          finished_at = null, error = null, error_stack = null
      from picked where t.id = picked.id
      returning t.id, t.run_id, t.pipeline, t.version, t.task, t.map_index, t.map_item, t.kind, t.needs, t.attempt, t.claims, t.max_attempts,
                t.retries, t.retry_delay, t.is_leaf, t.timeout_ms, t.timeout_at, t.priority, t.available_at,
                picked.state as from_state, picked.taken_over as resumed
    ), unmarked as (
      -- SKIP LOCKED: a row locked now is being completed (which records its start), and waiting
      -- for that transaction, which may itself wait for a row this claim holds, could deadlock.
      select id from podline.task_runs
      where id = any(${bigintArray(o.started ?? [])}) and lease_owner = ${o.workerId}
        and state = ${state('running')} and started_at is null
      for no key update skip locked
    ), marked as (
      update podline.task_runs set started_at = now() where id in (select id from unmarked)
    ), logged as (${insertEvents(sql`claimed`, {
      ...TASK_RUN_OR_ITEM,
      fromState: sql`from_state`,
      toState: state('running'),
      worker: o.workerId,
      message: sql`case when resumed then 'continues attempt ' || attempt || ', taken over' end`,
    })}), starting as (
      -- By primary key, the state checked on the rows found: written as a plain comparison, the state
      -- matched runs_state_created_idx, and with statistics taken before a burst of new runs the
      -- planner read every queued run through it (2,400 rows to find 8).
      select id from podline.runs
      where id = any(array(select distinct run_id from claimed)) and state || '' = ${state('queued')}
      for no key update skip locked
    ), started as (
      update podline.runs set state = ${state('running')}, started_at = now()
      where id in (select id from starting)
      returning id
    ), started_logged as (${insertEvents(sql`started`, {
      runId: sql`id`,
      fromState: state('queued'),
      toState: state('running'),
      worker: o.workerId,
    })})
    select c.id::text as "id", c.run_id as "runId", c.pipeline, c.version, c.task, c.kind, c.attempt,
           nullif(c.map_index, ${NO_MAP_INDEX}) as "mapIndex", c.map_item as "mapItem",
           c.claims as "claim",
           c.max_attempts as "maxAttempts", c.retries, c.retry_delay as "retryDelay", c.resumed,
           c.is_leaf as "isLeaf", c.timeout_ms as "timeoutMs",
           case when c.timeout_at is not null
             then greatest(0, ceil(extract(epoch from c.timeout_at - now()) * 1000))::float8 end as "msToDeadline",
           greatest(0, extract(epoch from now() - c.available_at) * 1000)::float8 as "waitedMs",
           r.params, r.assets, coalesce(r.no_cache, false) as "noCache", r.trace_context as "traceContext",
           (extract(epoch from r.logical_date) * 1000)::float8 as "logicalDate",
           (extract(epoch from r.interval_start) * 1000)::float8 as "intervalStart",
           case when c.map_index = ${NO_MAP_INDEX} then ${upstreamValues(sql`c.run_id`, sql`c.needs`)} end as inputs,
           -- An item's inputs are its task's: named, not sent (the row's value stays unread in TOAST).
           case when c.map_index <> ${NO_MAP_INDEX} then
             (select string_agg(need.task || '@' || x.written, ',' order by need.task)
              from unnest(c.needs) as need(task)
              cross join lateral (
                select extract(epoch from created_at)::text as written from podline.xcoms
                where run_id = c.run_id and task = need.task and map_index = ${NO_MAP_INDEX} and key = 'return_value'
                limit 1
              ) x) end as "inputsKey"
    from claimed c join podline.runs r on r.id = c.run_id
    order by c.priority desc nulls last, c.available_at, c.id
  `
}

/**
 * `picked`: the task runs this claim takes, ranked in queue order. The head of each served version
 * and kind outside any pool, merged (`pool is null`: task_runs_claim_version_idx holds only those).
 */
function pickedWithoutPools(o: ClaimOptions, kinds: ReadonlyArray<ClaimedTaskRun['kind']>): SQL {
  return sql`picked as (
      select q.id, q.state, q.taken_over, null::smallint as part,
             row_number() over (order by q.priority desc nulls last, q.available_at, q.id) as rank
      from unnest(${textArray(o.versions)}) as served(version)
      cross join unnest(${textArray(kinds)}) as served_kind(kind)
      cross join lateral (${headOf(o, sql`version = served.version and kind = served_kind.kind and pool is null`, sql`${o.limit}`)}) q
      order by q.priority desc nulls last, q.available_at, q.id
      limit ${o.limit}
    )`
}

/**
 * Up to `limit` claimable task runs of one queue (`lane`: version, kind and pool), in the claim
 * index's order, locked with SKIP LOCKED.
 */
function headOf(o: ClaimOptions, lane: SQL, limit: SQL): SQL {
  const runFilter = o.runId ? sql`and run_id = ${o.runId}::uuid` : sql``
  return sql`
        select id, state, taken_over, priority, available_at, pool_slots from podline.task_runs
        where state in ${states('queued', 'up_for_retry')} and available_at <= now() and ${ADMITTED}
          and ${lane} ${runFilter}
        order by priority desc nulls last, available_at, id
        limit ${limit}
        for update skip locked`
}

/*
 * `picked` when the served versions use pools: the running task runs of a pool never take more slots
 * than it has, across all workers, and this statement alone decides, so that a claim and its
 * accounting cannot be torn apart by a crash or a race.
 *
 * Why not a count alone: a statement reads the table as its snapshot saw it when it began. Two claims
 * that each count the pool's running task runs and take what is left would both see the slots free
 * that the other is taking; locking the pool's row first does not help, since the second claim's
 * count still predates the first one's commit (so written, the race in pools.test.ts saw 12 task
 * runs running in a pool of 3). Why not a counter of running slots kept on the pool:
 * every ending (completion, failure, timeout, cancel, lease expiry, hand-back) would have to lock and
 * write the pool's row, in statements that hold runs and task runs, and one statement missed would
 * leak slots for good.
 *
 * So: the running slots are counted from the snapshot (task_runs_pool_running_idx: a few rows), and
 * a row carries `claimed_slots`, which only claims raise, under the row's lock. The row is locked FOR
 * NO KEY UPDATE, which in READ COMMITTED returns its latest committed version, not the snapshot's:
 * the difference between the two values of claimed_slots is what the claims that committed since
 * the snapshot took. Free slots are `slots - running - that difference`: never more than are truly
 * free (a task run that ended since the snapshot is still counted, which only holds its slots back
 * for this one statement), so no race admits too many. Endings give their slots back by leaving
 * `running`, in the statements that already end them, with nothing more to write; a dead worker's
 * come back when the reconciler hands its task runs back.
 *
 * That row is a part of the pool (pool_parts; pool-slots.ts says how many): its share of the slots,
 * the task runs claimed from it (`task_runs.pool_part`) counted against it. A claim takes one part
 * per pool, the one its snapshot saw with the most room among those no other claim holds (SKIP
 * LOCKED), so the claims of a large pool run side by side: with the whole pool on one row they took
 * turns until each committed, and a pool of ample size cost about 0.77× the throughput of no pool (4
 * workers). A pool below 512 slots is one part: a claim that finds it held takes none of it this
 * time, and is woken when its slots free. The parts' slots add up to the pool's, so no part within
 * its share puts the pool beyond its slots.
 *
 * Each pool is a lane of its own per version and kind, probed in task_runs_claim_pool_idx (pool,
 * version, kind, then the queue's order): a full pool's queue is not read at all (its probe's limit
 * is 0), and work outside it is claimed as if it were not there. Candidates of a pool are admitted in
 * queue order while their slots fit, so a task run that needs more slots than are free waits and so
 * do those behind it: 1-slot tasks never starve a 2-slot one. A task run of a pool is claimed ahead
 * like any other (the worker takes only what it expects to start within 50 ms), and holds its slots
 * from its claim: `running` is what counts. Forbidding it cut the throughput of no-op tasks in a pool
 * of ample size to about a fifth of theirs in no pool (4 in-process workers: a claim took 2 task
 * runs instead of 11).
 *
 * Locks: the candidates first, then one part per pool, both with SKIP LOCKED: a claim never waits
 * for a pool, so it cannot close a cycle of waits (see docs/architecture.md, Locks).
 */
function pickedWithPools(
  o: ClaimOptions,
  kinds: ReadonlyArray<ClaimedTaskRun['kind']>,
  lanes: readonly PoolLane[],
): SQL {
  const order = sql`priority desc nulls last, available_at, id`
  const parts = partsOf(sql`p.slots`)
  return sql`pool_seen as materialized (
      select p.name, pp.part, ${partSlots(sql`p.slots`, sql`pp.part`)} as slots, pp.claimed_slots,
             ${runningSlots(sql`p.name`, sql`pp.part`)} as running
      from podline.pools p join podline.pool_parts pp on pp.pool = p.name and pp.part < ${parts}
      where p.name = any(${textArray([...new Set(lanes.map((l) => l.pool))])})
    ), pool_room as materialized (
      select name, sum(greatest(0, slots - running)) as free, max(slots) as largest
      from pool_seen group by name
    ), candidates as materialized (
      select q.id, q.state, q.taken_over, q.priority, q.available_at, null::text as pool, q.pool_slots
      from unnest(${textArray(o.versions)}) as served(version)
      cross join unnest(${textArray(kinds)}) as served_kind(kind)
      cross join lateral (${headOf(o, sql`version = served.version and kind = served_kind.kind and pool is null`, sql`${o.limit}`)}) q
      union all
      select q.id, q.state, q.taken_over, q.priority, q.available_at, lane.pool, q.pool_slots
      from jsonb_to_recordset(${JSON.stringify(lanes)}::jsonb) as lane(version text, kind text, pool text)
      join pool_room s on s.name = lane.pool
      cross join lateral (${headOf(
        o,
        sql`version = lane.version and kind = lane.kind and pool = lane.pool and pool_slots <= s.largest`,
        sql`greatest(0, least(${o.limit}::int, s.free))::int`,
      )}) q
    ), pool_locked as materialized (
      select l.pool, l.part, l.claimed_slots
      from (select distinct pool from candidates where pool is not null) c
      cross join lateral (
        select pp.pool, pp.part, pp.claimed_slots from podline.pool_parts pp
        join pool_seen s on s.name = pp.pool and s.part = pp.part
        where pp.pool = c.pool
        order by s.slots - s.running desc, pp.part
        limit 1
        for no key update of pp skip locked
      ) l
    ), admitted as (
      select id, state, taken_over, priority, available_at, pool, pool_slots, null::smallint as part
      from candidates where pool is null
      union all
      select c.id, c.state, c.taken_over, c.priority, c.available_at, c.pool, c.pool_slots, l.part
      from (select *, sum(pool_slots) over (partition by pool order by ${order}) as upto
            from candidates where pool is not null) c
      join pool_locked l on l.pool = c.pool
      join pool_seen s on s.name = l.pool and s.part = l.part
      where c.upto <= s.slots - s.running - (l.claimed_slots - s.claimed_slots)
    ), picked as materialized (
      select id, state, taken_over, pool, pool_slots, part, row_number() over (order by ${order}) as rank
      from admitted order by ${order} limit ${o.limit}
    ), pool_taken as (
      update podline.pool_parts pp set claimed_slots = pp.claimed_slots + taken.slots
      from (select pool, part, sum(pool_slots) as slots from picked where pool is not null group by pool, part) taken
      where pp.pool = taken.pool and pp.part = taken.part
    )`
}
