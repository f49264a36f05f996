import type { ResolvedTaskOptions } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import {
  CALLBACK_STATES,
  type CallbackState,
  CLAIMABLE_TASK_STATES,
  FINISHED_RUN_STATES,
  OPEN_RUN_STATES,
  OPEN_TASK_STATES,
  RUN_STATES,
  type RunState,
  TASK_STATES,
  type TaskState,
} from '../engine/states.js'
import type { TraceCarrier } from '../tracing/tracing.js'

export {
  RUN_STATES,
  type RunState,
  TASK_STATES,
  type TaskState,
  TERMINAL_TASK_STATES,
} from '../engine/states.js'

/** Everything lives in its own schema, so Podline can share a database with the application it serves. */
export const podline = pgSchema('podline')

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

/** `state in ('a', 'b')` with the names from engine/states.ts: CHECK constraints and partial indexes. */
const stateIn = (names: readonly string[]) => sql.raw(`state in (${names.map((n) => `'${n}'`).join(', ')})`)
/** `state = 'a'`, typed: the text PostgreSQL stores for a one-state partial index. */
const stateIs = (name: TaskState) => sql.raw(`state = '${name}'`)

/** task_runs.map_index (and the XComs', task logs') of a task's own row, mapped or not: items are 0, 1, … */
export const NO_MAP_INDEX = -1

/**
 * A queued task run that waits for its concurrency key's admission has available_at 'infinity'
 * (queue/task-keys.ts): the claim indexes leave it out (a long wait for one key must not be walked
 * by every claim), and the claim's statement repeats this condition so that they apply.
 */
export const ADMITTED = sql`available_at < 'infinity'`

/** A task's backoff between retries, as resolved in its plan (durations in milliseconds). */
export type StoredRetryDelay = ResolvedTaskOptions['retryDelay']

/**
 * One row: this store's identity, made when it is first migrated. Pods are labelled with it, so a
 * worker only ever touches the pods of its own store, even in a namespace that several stores share.
 */
export const store = podline.table('store', {
  id: uuid('id').primaryKey().defaultRandom(),
  createdAt: ts('created_at').notNull().defaultNow(),
})

export const pipelines = podline.table(
  'pipelines',
  {
    name: text('name').notNull(),
    version: text('version').notNull(),
    plan: jsonb('plan').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.name, t.version] })],
)

export const runs = podline.table(
  'runs',
  {
    id: uuid('id').primaryKey(),
    pipeline: text('pipeline').notNull(),
    version: text('version').notNull(),
    params: jsonb('params').notNull(),
    state: text('state').notNull().$type<RunState>(),
    error: text('error'),
    /** The run's W3C trace context, made at trigger: every attempt's span joins this trace. */
    traceContext: jsonb('trace_context').$type<TraceCarrier>(),
    /** The tick a scheduled or backfilled run stands for (ctx.schedule); null for a triggered run. */
    logicalDate: ts('logical_date'),
    /** The data interval: from the previous tick to `logical_date`. */
    intervalStart: ts('interval_start'),
    /**
     * The plan's maxActiveRuns, copied at create: the run's root tasks wait pending until
     * queue/admit-runs.ts starts it within the limit. Null: no limit.
     */
    maxActiveRuns: integer('max_active_runs'),
    /**
     * The plan's concurrency limit, copied at create: like maxActiveRuns, the roots wait pending until
     * admit-runs.ts starts the run, and only once its key is known. Null: the pipeline has no key.
     */
    concurrencyLimit: integer('concurrency_limit'),
    /**
     * The run's concurrency key, from its params by the pipeline's code: set at trigger when the
     * caller has the code, else by a worker serving the version (queue/concurrency-keys.ts).
     */
    concurrencyKey: text('concurrency_key'),
    /**
     * Whether its tasks' computed values (a task's concurrency key, a priority from the params) are
     * still to be computed: null when none are needed or the caller computed them at create; true
     * when the run was created without the code (it waits, like a keyed run, for a worker serving
     * the version: queue/task-values.ts); false once that worker has.
     */
    taskValuesPending: boolean('task_values_pending'),
    /** The plan's callback events ('failure', 'success'), copied at create: the run's end queues them. */
    callbacks: text('callbacks').array(),
    /** When the run must have finished (the plan's deadline from its creation or logical date); null: none. */
    deadlineAt: ts('deadline_at'),
    /** When a pass found it still open past its deadline (queue/run-deadlines.ts): set once. */
    deadlineMissedAt: ts('deadline_missed_at'),
    /**
     * The asset events that created the run (queue/asset-runs.ts), by asset name: each event's id,
     * value, time and producer, as its tasks read them (`ctx.assets`). Null for other runs.
     */
    assets: jsonb('assets'),
    /** The newest of those events' ids: unique per pipeline, so no event makes a second run of it. */
    assetEventId: bigint('asset_event_id', { mode: 'number' }),
    /** Its tasks' caches are bypassed (`--no-cache`): no entry is read; a success still stores one. */
    noCache: boolean('no_cache'),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    // `podline runs` lists newest first, by (created_at, id) keyset pages, optionally filtered by
    // pipeline and state: one index per filter, so each page reads only the rows it shows.
    index('runs_created_idx').on(t.createdAt, t.id),
    index('runs_pipeline_created_idx').on(t.pipeline, t.createdAt, t.id),
    index('runs_state_created_idx').on(t.state, t.createdAt, t.id),
    index('runs_pipeline_state_created_idx').on(t.pipeline, t.state, t.createdAt, t.id),
    // Retention (queue/prune.ts) reads the finished runs oldest first, never scanning the live ones.
    index('runs_finished_idx').on(t.finishedAt).where(stateIn(FINISHED_RUN_STATES)),
    // maxActiveRuns' admission counts a pipeline's running runs and reads its queued ones, every
    // second on every worker serving it: only the open runs, not the pipeline's whole history.
    index('runs_open_pipeline_idx').on(t.pipeline, t.createdAt).where(stateIn(OPEN_RUN_STATES)),
    // Each pass looks for open runs past their deadline: only those with one still to miss.
    index('runs_deadline_idx')
      .on(t.deadlineAt)
      .where(sql`deadline_missed_at is null and ${stateIn(OPEN_RUN_STATES)}`),
    // Exactly one run per (pipeline, tick), however many workers schedule it: this decides, not a leader.
    uniqueIndex('runs_pipeline_logical_date_idx').on(t.pipeline, t.logicalDate),
    // And one per (pipeline, asset event): the cursor's lock decides; this makes a second run impossible.
    uniqueIndex('runs_pipeline_asset_event_idx').on(t.pipeline, t.assetEventId),
    // Whether a run still reads an asset event (`assets @> {name: {id}}`): retention keeps those events.
    index('runs_assets_idx')
      .using('gin', sql`${t.assets} jsonb_path_ops`)
      .where(sql`${t.assets} is not null`),
    check('runs_state_check', stateIn(RUN_STATES)),
  ],
)

/**
 * The columns a row of a run's queues starts with (a task run, a run callback): its id, its run
 * (deleted with it) and the pipeline version whose workers take it. A function: each table needs
 * builders of its own.
 */
const queueRowColumns = () => ({
  id: bigserial('id', { mode: 'bigint' }).primaryKey(),
  runId: uuid('run_id')
    .notNull()
    .references(() => runs.id, { onDelete: 'cascade' }),
  pipeline: text('pipeline').notNull(),
  version: text('version').notNull(),
})

export const taskRuns = podline.table(
  'task_runs',
  {
    ...queueRowColumns(),
    task: text('task').notNull(),
    /**
     * The item of a mapped task this task run is (0, 1, …), or NO_MAP_INDEX (-1) for a task's own
     * row, mapped or not. Not null, so it can be part of the unique index and of the XComs' key.
     */
    mapIndex: integer('map_index').notNull().default(NO_MAP_INDEX),
    /** An item's element of the list `over` returned: its function's first parameter. */
    mapItem: jsonb('map_item'),
    /** A mapped task's maxParallel, copied from the plan: items running at once. Null: no bound. */
    maxParallel: integer('max_parallel'),

    kind: text('kind').notNull().$type<'task' | 'pod' | 'wait'>(),
    /**
     * The pool whose slots this task run takes while it runs under a lease (from its claim to its
     * ending, its hand-back or its lease's expiry), copied from the plan; null: no pool. A mapped
     * task's own row, once expanded, runs without a lease and takes none: each item takes its own.
     */
    pool: text('pool'),
    /** How many slots of `pool` it takes (the task's poolSlots); 1 without a pool, and unread. */
    poolSlots: integer('pool_slots').notNull().default(1),
    /**
     * The part of its pool (pool_parts) whose slots this task run took at its claim: the claim of
     * a part counts the running task runs of that part (set-pool.ts moves those of a part it
     * removes). Null before a claim, and without a pool.
     */
    poolPart: smallint('pool_part'),
    /**
     * The task's concurrency key for this run (from the params, by the task's code) and its limit:
     * queued, it waits unclaimable (available_at 'infinity') until queue/admit-tasks.ts admits it
     * within the limit. Null: the task has no key.
     */
    concurrencyKey: text('concurrency_key'),
    concurrencyLimit: integer('concurrency_limit'),
    /**
     * The events the task has callbacks for (task_failure, task_success, task_retry), copied from the
     * plan: the statement that stores an attempt's end queues them (queue/task-callbacks.ts). Null: none.
     */
    callbacks: text('callbacks').array(),
    /**
     * The assets the task produces, copied from the plan: the statement that stores a success writes
     * an asset event of each with the output (queue/finish-attempt.ts). Null: none.
     */
    produces: text('produces').array(),
    /** The run whose cached output this task run's success took instead of running; null when it ran. */
    cachedFrom: uuid('cached_from'),
    /** Copied from the plan: its length is the trigger rules' total, and retry walks it downstream. */
    needs: text('needs').array().notNull(),
    isLeaf: boolean('is_leaf').notNull(),
    /**
     * The tasks that need this one (`needs` reversed), copied from the plan: a task that ends finds
     * its downstream rows by key. Empty on a mapped task's items, which trigger rules never see.
     */
    downstream: text('downstream').array().notNull().default(sql`'{}'::text[]`),
    triggerRule: text('trigger_rule').notNull(),
    /*
     * How this task's upstreams (their own rows) have ended so far: decidePromotion's UpstreamCounts
     * (the total is cardinality(needs)). Promotion adds each ending upstream to its downstream rows'
     * counts, so an ending costs its downstream count, not its siblings'; retry recounts its run.
     */
    /** Upstreams in success. */
    upstreamsSucceeded: integer('upstreams_succeeded').notNull().default(0),
    /** Upstreams in failed or upstream_failed. */
    upstreamsFailed: integer('upstreams_failed').notNull().default(0),
    /** Upstreams in skipped. */
    upstreamsSkipped: integer('upstreams_skipped').notNull().default(0),
    /** Upstreams in any terminal state. */
    upstreamsDone: integer('upstreams_done').notNull().default(0),
    state: text('state').notNull().$type<TaskState>(),
    /**
     * The attempt: one execution the user can see (ctx.attempt, logs, events, the pod's name). It
     * only grows: a new attempt begins at a claim that is not a takeover, `podline retry` included.
     */
    attempt: integer('attempt').notNull().default(0),
    /**
     * The number of the last attempt the retry budget allows: `retries + 1` at first, moved on by
     * `podline retry` to the current attempt plus `retries + 1`. So attempt <= max_attempts always.
     */
    maxAttempts: integer('max_attempts').notNull(),
    /** The task's options, copied from the plan: what the worker reads at run time. */
    retries: integer('retries').notNull(),
    retryDelay: jsonb('retry_delay').notNull().$type<StoredRetryDelay>(),
    timeoutMs: integer('timeout_ms'),
    /** The current attempt's deadline, set when it begins; a takeover keeps it. */
    timeoutAt: ts('timeout_at'),
    /**
     * The current attempt was handed back without ending (its worker died, or drained): the next
     * claim continues it (same number, same pod, same deadline) instead of beginning a new one.
     */
    takenOver: boolean('taken_over').notNull().default(false),
    /**
     * Claims of this task run, takeovers included: the fence of completion, heartbeat aside. The
     * attempt number cannot fence, since a takeover runs the same attempt again.
     */
    claims: integer('claims').notNull().default(0),
    /** Takeovers after a worker died (lease expiry), over the task run's life: bounded, see reconcile. */
    leaseExpiries: integer('lease_expiries').notNull().default(0),
    priority: integer('priority').notNull().default(0),
    availableAt: ts('available_at').notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: ts('lease_expires_at'),
    podName: text('pod_name'),
    podNamespace: text('pod_namespace'),
    error: text('error'),
    errorStack: text('error_stack'),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    uniqueIndex('task_runs_run_task_idx').on(t.runId, t.task, t.mapIndex),
    // The claim's index: per version a worker serves and per kind (inline tasks and pods have
    // separate slots), the claim reads the head of that queue in this order (see
    // claim-task-runs.ts), so work queued for versions it does not serve (20,000 runs of a pipeline
    // no worker loads), or of the kind it has no slot for, costs it nothing. `nulls last` as in the query.
    // Task runs in no pool only: those of a pool have their own index, so a full pool's queue is
    // never walked by a claim of other work (`pool is null` does not fix the order the way an equality
    // would, so the pool cannot be a column of this one).
    index('task_runs_claim_version_idx')
      .on(t.version, t.kind, t.priority.desc(), t.availableAt, t.id)
      .where(sql`${stateIn(CLAIMABLE_TASK_STATES)} and pool is null and ${ADMITTED}`),
    // The same per pool: a claim probes each pool it serves for its head, and `podline pools` counts
    // each pool's waiting task runs here.
    index('task_runs_claim_pool_idx')
      .on(t.pool, t.version, t.kind, t.priority.desc(), t.availableAt, t.id)
      .where(sql`${stateIn(CLAIMABLE_TASK_STATES)} and pool is not null and ${ADMITTED}`),
    // A task's concurrency key: admission counts the task runs that hold a place of each key and
    // reads those waiting for one, of one pipeline's keyed tasks only.
    index('task_runs_concurrency_key_idx')
      .on(t.pipeline, t.task, t.concurrencyKey, t.availableAt, t.id)
      .where(sql`concurrency_key is not null and ${stateIn(['queued', 'running', 'up_for_retry'])}`),
    index('task_runs_lease_idx').on(t.leaseExpiresAt).where(stateIs('running')),
    // The running task runs of a pool, by part: what a claim of one part counts, a few rows at most.
    index('task_runs_pool_running_idx')
      .on(t.pool, t.poolPart)
      .where(sql`${stateIs('running')} and pool is not null`),
    // The tasks of a run that have not ended: promotion reads the pending ones, and "is the run
    // done?" is one probe here instead of a scan of every task of a wide run at each completion.
    // With task and map_index, a mapped task's items are found here too: whether one is still open,
    // and its next pending item in item order, each a probe however many items have ended.
    index('task_runs_open_idx').on(t.runId, t.state, t.task, t.mapIndex).where(stateIn(OPEN_TASK_STATES)),
    check('task_runs_state_check', stateIn(TASK_STATES)),
  ],
)

export const xcoms = podline.table(
  'xcoms',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    task: text('task').notNull(),
    /** The item of a mapped task whose XCom this is; -1 for the task's own (a mapped task's: the array). */
    mapIndex: integer('map_index').notNull().default(NO_MAP_INDEX),
    key: text('key').notNull(),
    value: jsonb('value').notNull(),
    size: integer('size').notNull(),
    attempt: integer('attempt').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.task, t.mapIndex, t.key] }),
    // An offloaded value's object, by its key: a cache hit's row points to another run's object, so
    // whether an object is still referenced is asked by key (xcom-store/collect-orphans.ts).
    index('xcoms_reference_key_idx')
      .on(sql`(${t.value} -> '$podline' ->> 'key')`)
      .where(sql`${t.value} ? '$podline'`),
  ],
)

export const events = podline.table(
  'events',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    task: text('task'),
    /** The item of a mapped task the transition is of; null for a task's own row and run events. */
    mapIndex: integer('map_index'),
    attempt: integer('attempt'),
    fromState: text('from_state'),
    toState: text('to_state').notNull(),
    worker: text('worker'),
    message: text('message'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('events_run_idx').on(t.runId, t.id)],
)

export const taskLogs = podline.table(
  'task_logs',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    task: text('task').notNull(),
    /** The item of a mapped task that logged the line; -1 otherwise. */
    mapIndex: integer('map_index').notNull().default(NO_MAP_INDEX),
    attempt: integer('attempt').notNull(),
    level: text('level').notNull(),
    message: text('message').notNull(),
    fields: jsonb('fields'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('task_logs_run_idx').on(t.runId, t.task, t.id)],
)

/**
 * Named pools of slots, as Airflow has them (`podline pools set warehouse --slots 4`): the running
 * task runs of a pool never take more slots than it has, across all workers. The claim decides, in
 * its one statement (claim-task-runs.ts); endings give slots back by leaving `running`, with nothing
 * to write here. A task run names its pool by name, without a foreign key: a finished run keeps the
 * name of a pool deleted since, and queue/delete-pool.ts refuses while open task runs use it.
 */
export const pools = podline.table(
  'pools',
  {
    name: text('name').primaryKey(),
    /** 0 stops the pool: its task runs wait queued. */
    slots: integer('slots').notNull(),
    description: text('description'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  () => [check('pools_slots_check', sql`slots >= 0`)],
)

/**
 * The parts a pool's slots are split into (queue/pool-slots.ts: one part below 512 slots, at most 8),
 * each claimed under its own lock, so that claims of a large pool do not take turns on one row.
 * A part's slots are a share of the pool's; the task runs of a part are those whose `pool_part`
 * (modulo the number of parts) is the part. set-pool.ts keeps the rows in step with the slots.
 */
export const poolParts = podline.table(
  'pool_parts',
  {
    pool: text('pool')
      .notNull()
      .references(() => pools.name, { onDelete: 'cascade' }),
    part: smallint('part').notNull(),
    /**
     * Slots taken by claims of this part over its life, raised by each claim that takes some. Never
     * read as a count of anything: a claim compares the value its snapshot saw with the one it
     * locked, to learn what the claims that committed in between took (see claim-task-runs.ts).
     */
    claimedSlots: bigint('claimed_slots', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.pool, t.part] })],
)

/**
 * A run's callbacks, one row per event: the pipeline's (`onFailure`, `onSuccess`, `onDeadline`),
 * inserted by the statement that ends the run (queue/promote-downstream.ts, endRuns) or marks it late,
 * so it exists exactly when the run ended that way; and those that answer one task run's attempt (a
 * task's `onFailure`, `onSuccess`, `onRetry`, the pipeline's `onRetry`), inserted by the statement that
 * stores the attempt's end (queue/task-callbacks.ts). Any worker serving the version claims it, runs the pipeline's function under a lease and
 * records the outcome fenced by that lease (queue/run-callbacks.ts).
 */
export const runCallbacks = podline.table(
  'run_callbacks',
  {
    ...queueRowColumns(),
    event: text('event').notNull(),
    /** The task run a task's event is about; '' (and NO_MAP_INDEX, attempt 0) for the run's own. */
    task: text('task').notNull().default(''),
    mapIndex: integer('map_index').notNull().default(NO_MAP_INDEX),
    attempt: integer('attempt').notNull().default(0),
    /** The attempt's error, as the task run recorded it when the callback was queued. */
    taskError: text('task_error'),
    state: text('state').notNull().$type<CallbackState>(),
    /** Tries begun so far; the claim raises it. */
    tries: integer('tries').notNull().default(0),
    /** When the next try may start (a retry's backoff). */
    availableAt: ts('available_at').notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: ts('lease_expires_at'),
    /** The last try's error. */
    error: text('error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    // One callback per run and event (per attempt of a task run for a task's), however many
    // statements race to end the run.
    uniqueIndex('run_callbacks_run_event_idx').on(t.runId, t.event, t.task, t.mapIndex, t.attempt),
    // The claim reads what is due or whose lease lapsed, never the finished history.
    index('run_callbacks_open_idx')
      .on(t.version, t.availableAt, t.id)
      .where(stateIn(['queued', 'running'])),
    check('run_callbacks_state_check', stateIn(CALLBACK_STATES)),
  ],
)

export const workers = podline.table('workers', {
  id: text('id').primaryKey(),
  hostname: text('hostname').notNull(),
  pid: integer('pid').notNull(),
  versions: jsonb('versions').notNull(),
  concurrency: integer('concurrency').notNull(),
  /** A worker is live while its last heartbeat is younger than its lease. */
  leaseMs: integer('lease_ms').notNull(),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
  stoppedAt: ts('stopped_at'),
})

/**
 * One row per scheduled pipeline: the schedule of the version in force (the newest version a live
 * worker serves), written by the workers serving it, and the state the scheduler keeps.
 */
export const schedules = podline.table('schedules', {
  pipeline: text('pipeline').primaryKey(),
  version: text('version').notNull(),
  cron: text('cron').notNull(),
  timezone: text('timezone').notNull(),
  catchup: boolean('catchup').notNull(),
  maxCatchup: integer('max_catchup').notNull(),
  paused: boolean('paused').notNull().default(false),
  /** Ticks at or before this are never created: the schedule's registration, or an unpause without catchup. */
  ticksAfter: ts('ticks_after').notNull().defaultNow(),
  /** The newest tick the scheduler has created a run for. */
  lastLogicalDate: ts('last_logical_date'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
})

/**
 * A backfill request (`podline backfill`): one run per tick in [from, to], which the workers serving
 * the version in force create (they hold the params function), at most `max_active` open at once.
 * The range is unique per pipeline, so asking twice is one request.
 */
export const backfills = podline.table(
  'backfills',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    pipeline: text('pipeline').notNull(),
    from: ts('from').notNull(),
    to: ts('to').notNull(),
    /** Open (queued or running) runs of the range at once; null: no bound. */
    maxActive: integer('max_active'),
    createdAt: ts('created_at').notNull().defaultNow(),
    /** Set when every tick of the range has a run. */
    doneAt: ts('done_at'),
  },
  (t) => [uniqueIndex('backfills_range_idx').on(t.pipeline, t.from, t.to)],
)

/**
 * One update of an asset: written by the statement that stores the success of a task producing it
 * (its output is the value), or by `podline assets emit` and the API. Consumers read them in (tx, id)
 * order (queue/asset-runs.ts). No foreign key to the producing run: events outlive its retention.
 */
export const assetEvents = podline.table(
  'asset_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    asset: text('asset').notNull(),
    value: jsonb('value').notNull(),
    /**
     * The writing transaction's id. Ids are taken before commit, so a lower id can become visible
     * after a higher one: a consumer takes only events of transactions older than every open one,
     * in (tx, id) order, and so never moves its cursor past an event that has yet to appear.
     */
    tx: bigint('tx', { mode: 'number' }).notNull().default(sql`(pg_current_xact_id()::text::bigint)`),
    /** The producing task run's run, pipeline and task; null for an emitted event. */
    runId: uuid('run_id'),
    pipeline: text('pipeline'),
    task: text('task'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    // A consumer's pass reads one asset's events after its cursor, in order; listings read the newest.
    index('asset_events_asset_order_idx').on(t.asset, t.tx, t.id),
    index('asset_events_asset_id_idx').on(t.asset, t.id),
    // Retention reads the events past its age, oldest first, never the recent ones (each sweep).
    index('asset_events_created_idx').on(t.createdAt),
    // An offloaded value's object, by its key: kept while an event points to it (collect-orphans.ts).
    index('asset_events_reference_key_idx')
      .on(sql`(${t.value} -> '$podline' ->> 'key')`)
      .where(sql`${t.value} ? '$podline'`),
  ],
)

/**
 * Where each consuming pipeline stands in each asset's events: every event after (after_tx,
 * after_id) is still to make runs. The pass that creates runs from events locks its pipeline's
 * rows, inserts the runs and moves them, in one transaction: each event makes its run once.
 */
export const assetCursors = podline.table(
  'asset_cursors',
  {
    pipeline: text('pipeline').notNull(),
    asset: text('asset').notNull(),
    afterTx: bigint('after_tx', { mode: 'number' }).notNull(),
    afterId: bigint('after_id', { mode: 'number' }).notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.pipeline, t.asset] })],
)

/**
 * Cached task results: a task with `cache` stores its success's output under its key (in the
 * completion's statement); a later task run with the same key takes it instead of running. The value
 * is the XCom row's (a reference to the producing run's object when offloaded: shared, not copied,
 * and kept while an entry or a row points to it). Expired entries are deleted by retention.
 */
export const taskCache = podline.table(
  'task_cache',
  {
    pipeline: text('pipeline').notNull(),
    task: text('task').notNull(),
    key: text('key').notNull(),
    value: jsonb('value').notNull(),
    size: integer('size').notNull(),
    /** The run whose success stored it: what a hit shows as its origin. */
    runId: uuid('run_id').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    /** Null: serves until replaced. */
    expiresAt: ts('expires_at'),
  },
  (t) => [
    primaryKey({ columns: [t.pipeline, t.task, t.key] }),
    index('task_cache_expires_idx').on(t.expiresAt).where(sql`expires_at is not null`),
    // An offloaded value's object, by its key: kept while an entry points to it (collect-orphans.ts).
    index('task_cache_reference_key_idx')
      .on(sql`(${t.value} -> '$podline' ->> 'key')`)
      .where(sql`${t.value} ? '$podline'`),
  ],
)
