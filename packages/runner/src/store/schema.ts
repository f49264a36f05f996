import { sql } from 'drizzle-orm'
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'

/** Everything lives in its own schema, so Podline can share a database with the application it serves. */
export const podline = pgSchema('podline')

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

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
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('runs_pipeline_created_idx').on(t.pipeline, t.createdAt)],
)

export const taskRuns = podline.table(
  'task_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    pipeline: text('pipeline').notNull(),
    version: text('version').notNull(),
    task: text('task').notNull(),
    kind: text('kind').notNull().$type<'task' | 'pod'>(),
    /** Copied from the plan so that promotion is one query without reading plans. */
    needs: text('needs').array().notNull(),
    isLeaf: boolean('is_leaf').notNull(),
    triggerRule: text('trigger_rule').notNull(),
    state: text('state').notNull().$type<TaskState>(),
    attempt: integer('attempt').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    /** Times the lease of an attempt expired (a worker died): retried beyond `retries`, but bounded. */
    leaseExpiries: integer('lease_expiries').notNull().default(0),
    priority: integer('priority').notNull().default(0),
    availableAt: ts('available_at').notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: ts('lease_expires_at'),
    timeoutMs: integer('timeout_ms'),
    timeoutAt: ts('timeout_at'),
    podName: text('pod_name'),
    podNamespace: text('pod_namespace'),
    error: text('error'),
    errorStack: text('error_stack'),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    uniqueIndex('task_runs_run_task_idx').on(t.runId, t.task),
    // Matches the claim query's filter and order, so a claim reads only the head of the queue.
    index('task_runs_claim_idx')
      .on(t.priority.desc(), t.availableAt, t.id)
      .where(sql`state in ('queued', 'up_for_retry')`),
    index('task_runs_lease_idx').on(t.leaseExpiresAt).where(sql`state = 'running'`),
    // The tasks of a run that have not ended: promotion reads the pending ones, and "is the run
    // done?" is one probe here instead of a scan of every task of a wide run at each completion.
    index('task_runs_open_idx')
      .on(t.runId, t.state)
      .where(sql`state in ('pending', 'queued', 'running', 'up_for_retry')`),
  ],
)

export const xcoms = podline.table(
  'xcoms',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    task: text('task').notNull(),
    key: text('key').notNull(),
    value: jsonb('value').notNull(),
    size: integer('size').notNull(),
    attempt: integer('attempt').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.task, t.key] })],
)

export const events = podline.table(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    task: text('task'),
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
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    task: text('task').notNull(),
    attempt: integer('attempt').notNull(),
    level: text('level').notNull(),
    message: text('message').notNull(),
    fields: jsonb('fields'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('task_logs_run_idx').on(t.runId, t.task, t.id)],
)

export const workers = podline.table('workers', {
  id: text('id').primaryKey(),
  hostname: text('hostname').notNull(),
  pid: integer('pid').notNull(),
  versions: jsonb('versions').notNull(),
  concurrency: integer('concurrency').notNull(),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
  stoppedAt: ts('stopped_at'),
})

export const TASK_STATES = [
  'pending',
  'queued',
  'running',
  'success',
  'failed',
  'up_for_retry',
  'skipped',
  'upstream_failed',
  'cancelled',
] as const
export type TaskState = (typeof TASK_STATES)[number]
export const RUN_STATES = ['queued', 'running', 'success', 'failed', 'cancelled'] as const
export type RunState = (typeof RUN_STATES)[number]
export const TERMINAL_TASK_STATES = [
  'success',
  'failed',
  'skipped',
  'upstream_failed',
  'cancelled',
] as const satisfies readonly TaskState[]
