import { randomUUID } from 'node:crypto'
import type { JsonValue, PipelinePlan } from '@podline/sdk'
import { type SQL, sql } from 'drizzle-orm'
import { computesTaskValues, type RunValues } from '../engine/run-values.js'
import type { Database, Executor } from '../store/database.js'
import { runs } from '../store/schema.js'
import { newRunTrace } from '../tracing/tracing.js'
import { admitRuns } from './admit-runs.js'
import { admitKeyedTasks, KEY_FROM_INPUTS, queuedAvailableAt } from './admit-tasks.js'
import { insertEvents } from './event-log.js'
import { QUEUE_CHANNEL, state } from './sql-values.js'

/**
 * Creates a run and its task runs in one transaction: tasks without needs start queued, the rest
 * pending. Params must already be validated: nothing is written for invalid input.
 */
export async function createRun(
  database: Database,
  plan: PipelinePlan,
  params: JsonValue,
  values?: RunValues,
  options: { cache?: boolean } = {},
): Promise<string> {
  const runId = randomUUID()
  await database.db.transaction((tx) =>
    insertRun(database, tx, {
      id: runId,
      plan,
      params,
      ...(values ? { values } : {}),
      ...(options.cache === false ? { noCache: true } : {}),
    }),
  )
  return runId
}

/** The tick a scheduled run stands for: its logical date and the start of its data interval. */
export interface RunTick {
  logicalDate: Date
  intervalStart: Date
}

export interface NewRun {
  id: string
  plan: PipelinePlan
  params: JsonValue
  tick?: RunTick
  /**
   * What the pipeline's code computes from the params (its concurrency key, its tasks' keys and
   * priorities) when the caller has the code; without, a worker serving the version computes them
   * before the run starts (queue/concurrency-keys.ts).
   */
  values?: RunValues
  /** The asset events that create the run (queue/asset-runs.ts): one run per pipeline and event. */
  trigger?: AssetTrigger
  /** Its tasks' caches are bypassed (`--no-cache`). */
  noCache?: boolean
}

/** An event as a run stores it for its tasks (`ctx.assets`), its value as the event row holds it. */
export interface StoredAssetEvent {
  id: string
  value: JsonValue
  createdAt: string
  producer: { pipeline: string; runId: string; task: string } | null
}

export interface AssetTrigger {
  /** By asset name. */
  events: Record<string, StoredAssetEvent>
  /** The newest of their ids: the run's asset_event_id. */
  newestId: number
}

/**
 * When a run must have finished: its creation (the database's now) or its logical date plus the
 * plan's deadline; a triggered run has no logical date and counts from its creation.
 */
function deadlineOf(plan: PipelinePlan, tick: RunTick | undefined): SQL | Date | null {
  const deadline = plan.deadline
  if (!deadline) return null
  if (deadline.from === 'logicalDate' && tick) return new Date(tick.logicalDate.getTime() + deadline.afterMs)
  return sql`now() + make_interval(secs => ${deadline.afterMs / 1000})`
}

/**
 * Inserts a run inside the caller's transaction. With a tick, a run of the same (pipeline, logical
 * date) wins: nothing is written and the result is false. Under maxActiveRuns or a concurrency key
 * the root tasks wait pending and admitRuns starts the run when the limits allow (at once, if they
 * do now).
 */
export async function insertRun(database: Database, tx: Executor, run: NewRun): Promise<boolean> {
  const { id: runId, plan, params, tick } = run
  const computesTasks = computesTaskValues(plan)
  // Computed task values still to come from a worker: the run waits for them, as a keyed run does.
  const valuesPending = computesTasks && run.values === undefined
  const limited = plan.maxActiveRuns !== undefined || plan.concurrency !== undefined || valuesPending
  const taskValues = new Map((run.values?.taskValues ?? []).map((v) => [v.task, v]))
  const rootState = limited ? ('pending' as const) : ('queued' as const)
  // needs reversed: the edges promotion follows from a task that ends to the tasks it may decide.
  const downstream = new Map<string, string[]>()
  for (const t of plan.tasks)
    for (const need of t.needs) {
      const tasks = downstream.get(need)
      if (tasks) tasks.push(t.name)
      else downstream.set(need, [t.name])
    }
  const inserted = await tx
    .insert(runs)
    .values({
      id: runId,
      pipeline: plan.name,
      version: plan.version,
      params,
      state: 'queued',
      maxActiveRuns: plan.maxActiveRuns ?? null,
      concurrencyLimit: plan.concurrency?.limit ?? null,
      concurrencyKey: plan.concurrency ? (run.values?.concurrencyKey ?? null) : null,
      taskValuesPending: valuesPending ? true : null,
      callbacks: plan.callbacks ?? null,
      deadlineAt: deadlineOf(plan, tick),
      traceContext: newRunTrace(plan.name, plan.version, runId),
      ...(tick ? { logicalDate: tick.logicalDate, intervalStart: tick.intervalStart } : {}),
      ...(run.trigger ? { assets: run.trigger.events, assetEventId: run.trigger.newestId } : {}),
      ...(run.noCache ? { noCache: true } : {}),
    })
    .onConflictDoNothing(
      run.trigger
        ? { target: [runs.pipeline, runs.assetEventId] }
        : { target: [runs.pipeline, runs.logicalDate] },
    )
    .returning({ id: runs.id })
  if (inserted.length === 0) return false
  // The task runs and their events from one jsonb parameter, in one statement: drizzle's insert binds
  // every column of every row as a parameter, which PostgreSQL caps at 65,535 (about 3,800 tasks)
  // and whose query building overflows the stack before that.
  const rows = plan.tasks.map((t) => ({
    task: t.name,
    kind: t.kind,
    needs: t.needs,
    downstream: downstream.get(t.name) ?? [],
    is_leaf: !downstream.has(t.name),
    trigger_rule: t.options.triggerRule,
    state: t.needs.length === 0 ? rootState : ('pending' as const),
    max_attempts: t.options.retries + 1,
    retries: t.options.retries,
    retry_delay: t.options.retryDelay,
    priority: taskValues.get(t.name)?.priority ?? t.options.priority,
    // A sleep's length is its wait's time: it ends then, as a timeout would, but succeeds.
    timeout_ms: t.options.timeoutMs ?? t.wait?.sleepMs ?? null,
    max_parallel: t.map?.maxParallel ?? null,
    pool: t.options.pool ?? null,
    pool_slots: t.options.poolSlots ?? 1,
    callbacks: t.callbacks ?? null,
    concurrency_key: taskValues.get(t.name)?.fromInputs
      ? KEY_FROM_INPUTS
      : (taskValues.get(t.name)?.concurrencyKey ?? null),
    concurrency_limit: t.options.concurrency?.limit ?? null,
    produces: t.produces ?? null,
  }))
  await database.rows(
    sql`
      with v as (
        select * from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as (
          task text, kind text, needs text[], downstream text[], is_leaf boolean, trigger_rule text, state text,
          max_attempts int, retries int, retry_delay jsonb, priority int, timeout_ms int, max_parallel int,
          pool text, pool_slots int, callbacks text[], concurrency_key text, concurrency_limit int,
          produces text[]))
          with ordinality as v(task, kind, needs, downstream, is_leaf, trigger_rule, state, max_attempts, retries,
                               retry_delay, priority, timeout_ms, max_parallel, pool, pool_slots, callbacks,
                               concurrency_key, concurrency_limit, produces, n)
      ), inserted as (
        insert into podline.task_runs (run_id, pipeline, version, task, kind, needs, downstream, is_leaf,
                                       trigger_rule, state, max_attempts, retries, retry_delay, priority,
                                       timeout_ms, max_parallel, pool, pool_slots, callbacks,
                                       concurrency_key, concurrency_limit, produces, available_at)
        select ${runId}::uuid, ${plan.name}, ${plan.version}, task, kind, needs, downstream, is_leaf,
               trigger_rule, state, max_attempts, retries, retry_delay, priority, timeout_ms, max_parallel,
               pool, pool_slots, callbacks, concurrency_key, concurrency_limit, produces,
               ${queuedAvailableAt(sql`concurrency_key`)}
        from v order by n
      )
      -- One insert, ordered: the run's event comes first, then its tasks' in plan order.
      ${insertEvents(
        sql`(
          select 0::bigint as n, null::text as task, null::int as attempt, ${state('queued')} as state,
                 ${`run of ${plan.name}@${plan.version} created${tick ? ` for ${tick.logicalDate.toISOString()}` : ''}${
                   run.trigger
                     ? ` by asset event${Object.keys(run.trigger.events).length > 1 ? 's' : ''} ${Object.entries(
                         run.trigger.events,
                       )
                         .map(([name, e]) => `${name}#${e.id}`)
                         .join(', ')}`
                     : ''
                 }`}::text as message
          union all
          select n, task, 0, state, null from v
        ) e order by n`,
        {
          runId: sql`${runId}::uuid`,
          task: sql`task`,
          attempt: sql`attempt`,
          toState: sql`state`,
          message: sql`message`,
        },
      )}`,
    tx,
  )
  if (limited) await admitRuns(database, tx, plan.name)
  else await database.rows(sql`select pg_notify(${QUEUE_CHANNEL}, ${plan.version})`, tx)
  // Root tasks with keys wait queued for their keys' admission: at once, if the keys allow.
  if (!limited && rows.some((r) => r.concurrency_key !== null && r.state === 'queued'))
    await admitKeyedTasks(database, tx, plan.name)
  return true
}
