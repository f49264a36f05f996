import type { PipelinePlan } from '@podline/sdk'
import { and, asc, desc, eq, gt, gte, lte, sql } from 'drizzle-orm'
import { CLAIMABLE_TASK_STATES, FAILED_TASK_STATES, type TaskState } from './engine/states.js'
import { expandItemManifests, itemValues } from './queue/mapped-tasks.js'
import { state, states } from './queue/sql-values.js'
import { isVersionServed, servedVersions } from './queue/workers.js'
import type { Database } from './store/database.js'
import {
  events,
  NO_MAP_INDEX,
  pipelines,
  type RunState,
  runs,
  taskLogs,
  taskRuns,
  xcoms,
} from './store/schema.js'
import { isItemsManifest } from './xcom-store/xcom-reference.js'

/** The read side, for the CLI's operator verbs. Every query here is an ordinary drizzle query. */

export async function latestPlan(database: Database, name: string): Promise<PipelinePlan | undefined> {
  const [row] = await database.db
    .select({ plan: pipelines.plan })
    .from(pipelines)
    .where(eq(pipelines.name, name))
    .orderBy(desc(pipelines.createdAt))
    .limit(1)
  return row?.plan as PipelinePlan | undefined
}

export type PlanToTrigger =
  | { plan: PipelinePlan }
  | {
      /** No such pipeline; no live worker serves any of its versions; or the forced version is unknown. */
      problem: 'unknown-pipeline' | 'no-live-worker' | 'unknown-version'
      /** Its registered versions, newest first. */
      registered: string[]
    }

/**
 * The plan `trigger` queues a run of: the newest version that a live worker serves (so after a
 * rollback runs go to the version still served, not the one registered last), or `version` when
 * the caller forces one.
 */
export async function planToTrigger(
  database: Database,
  name: string,
  version?: string,
): Promise<PlanToTrigger> {
  const rows = await database.db
    .select({ version: pipelines.version, plan: pipelines.plan })
    .from(pipelines)
    .where(eq(pipelines.name, name))
    .orderBy(desc(pipelines.createdAt))
  const registered = rows.map((r) => r.version)
  if (rows.length === 0) return { problem: 'unknown-pipeline', registered }
  const wanted = version ?? (await servedVersions(database, name))[0]
  const row = rows.find((r) => r.version === wanted)
  if (row) return { plan: row.plan as PipelinePlan }
  return { problem: version === undefined ? 'no-live-worker' : 'unknown-version', registered }
}

export async function pipelineNames(database: Database): Promise<string[]> {
  const rows = await database.db
    .selectDistinct({ name: pipelines.name })
    .from(pipelines)
    .orderBy(pipelines.name)
  return rows.map((r) => r.name)
}

export interface ListRunsOptions {
  pipeline?: string
  state?: RunState
  /** Default 50. */
  limit?: number
  /** The next page: only runs listed after this one (older, or as old with a smaller id). */
  after?: string
}

/**
 * Runs newest first, a page at a time: (created_at, id) is the keyset, so a page costs the rows it
 * shows however many runs there are, through the index of its filter (runs_created_idx,
 * runs_pipeline_created_idx, runs_state_created_idx, runs_pipeline_state_created_idx). The columns
 * are listed so a listing never reads more than a run's own row (never its XComs or logs).
 */
export function listRuns(database: Database, options: ListRunsOptions = {}) {
  return database.db
    .select({
      id: runs.id,
      pipeline: runs.pipeline,
      version: runs.version,
      params: runs.params,
      state: runs.state,
      error: runs.error,
      createdAt: runs.createdAt,
      startedAt: runs.startedAt,
      finishedAt: runs.finishedAt,
      logicalDate: runs.logicalDate,
    })
    .from(runs)
    .where(
      and(
        options.pipeline ? eq(runs.pipeline, options.pipeline) : undefined,
        options.state ? eq(runs.state, options.state) : undefined,
        options.after
          ? sql`(${runs.createdAt}, ${runs.id}) < (select c.created_at, c.id from podline.runs c where c.id = ${options.after}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(options.limit ?? 50)
}

/** The task runs of a run, in the order they were created: `status`. A mapped task is its own row (items: mappedItems). */
export function runTasks(database: Database, runId: string) {
  return database.db
    .select({
      task: taskRuns.task,
      kind: taskRuns.kind,
      state: taskRuns.state,
      attempt: taskRuns.attempt,
      maxAttempts: taskRuns.maxAttempts,
      startedAt: taskRuns.startedAt,
      finishedAt: taskRuns.finishedAt,
      error: taskRuns.error,
      errorStack: taskRuns.errorStack,
    })
    .from(taskRuns)
    .where(and(eq(taskRuns.runId, runId), eq(taskRuns.mapIndex, NO_MAP_INDEX)))
    .orderBy(asc(taskRuns.id))
}

/** The items of a run's mapped tasks: how many are in each state, and the ones that failed. */
export interface MappedItems {
  total: number
  byState: Partial<Record<TaskState, number>>
  failed: Array<{ index: number; state: TaskState; attempt: number; error: string | null }>
}

/** Per mapped task of a run, its items' counts by state and its failed items (one query each). */
export async function mappedItems(database: Database, runId: string): Promise<Record<string, MappedItems>> {
  const counts = await database.rows<{ task: string; state: TaskState; n: number }>(sql`
    select task, state, count(*)::int as n from podline.task_runs
    where run_id = ${runId}::uuid and map_index >= 0 group by task, state order by task, state`)
  const failed = await database.rows<{
    task: string
    index: number
    state: TaskState
    attempt: number
    error: string | null
  }>(sql`
    select task, map_index as index, state, attempt, error from podline.task_runs
    where run_id = ${runId}::uuid and map_index >= 0 and state in ${states(...FAILED_TASK_STATES)}
    order by task, map_index`)
  const byTask: Record<string, MappedItems> = {}
  for (const c of counts) {
    const entry = byTask[c.task] ?? { total: 0, byState: {}, failed: [] }
    byTask[c.task] = entry
    entry.total += c.n
    entry.byState[c.state] = c.n
  }
  for (const { task, ...item } of failed) byTask[task]?.failed.push(item)
  return byTask
}

/** The newest `limit` runs whose ids lie between `low` and `high` (a typed prefix of a run id, as a range of the primary key). */
export function runsInIdRange(database: Database, range: { low: string; high: string; limit: number }) {
  return database.db
    .select({ id: runs.id, pipeline: runs.pipeline, state: runs.state, createdAt: runs.createdAt })
    .from(runs)
    .where(and(gte(runs.id, range.low), lte(runs.id, range.high)))
    .orderBy(desc(runs.createdAt))
    .limit(range.limit)
}

export async function runStatus(database: Database, runId: string) {
  const [run] = await database.db.select().from(runs).where(eq(runs.id, runId))
  if (!run) return undefined
  const tasks = await runTasks(database, runId)
  /** Whether a live worker serves the run's version: a queued run whose version nobody serves waits forever. */
  const served = await isVersionServed(database, run.version)
  const items = await mappedItems(database, runId)
  return { run, tasks, served, items }
}
export type RunStatus = NonNullable<Awaited<ReturnType<typeof runStatus>>>

/**
 * How long until a task (or one item of a mapped task) waiting to retry is due: ms, negative when
 * overdue; undefined when it is not waiting to retry.
 */
export async function retryDueInMs(
  database: Database,
  at: { runId: string; task: string; mapIndex?: number | undefined },
): Promise<number | undefined> {
  const [row] = await database.rows<{ ms: number }>(sql`
    select (extract(epoch from available_at - now()) * 1000)::float8 as ms from podline.task_runs
    where run_id = ${at.runId}::uuid and task = ${at.task} and map_index = ${at.mapIndex ?? NO_MAP_INDEX}
      and state = ${state('up_for_retry')}`)
  return row?.ms
}

export function runEvents(database: Database, runId: string) {
  return database.db.select().from(events).where(eq(events.runId, runId)).orderBy(asc(events.id))
}

/**
 * A run's log lines, or one task's (all its items' when mapped), or one item's (`item`), in order;
 * `afterId` and `limit` page them for a live tail.
 */
export function taskLogLines(
  database: Database,
  runId: string,
  task?: string,
  page: { afterId?: bigint; limit?: number; item?: number } = {},
) {
  const query = database.db
    .select()
    .from(taskLogs)
    .where(
      and(
        eq(taskLogs.runId, runId),
        task === undefined ? undefined : eq(taskLogs.task, task),
        page.afterId === undefined ? undefined : gt(taskLogs.id, page.afterId),
        page.item === undefined ? undefined : eq(taskLogs.mapIndex, page.item),
      ),
    )
    .orderBy(asc(taskLogs.id))
  return page.limit === undefined ? query : query.limit(page.limit)
}

/** A task's XComs (a mapped task's own: the array of its items' values), or those of one of its items (`item`). */
export async function taskXcoms(database: Database, runId: string, task: string, item?: number) {
  const rows = await database.db
    .select({ key: xcoms.key, value: xcoms.value, size: xcoms.size, attempt: xcoms.attempt })
    .from(xcoms)
    .where(and(eq(xcoms.runId, runId), eq(xcoms.task, task), eq(xcoms.mapIndex, item ?? NO_MAP_INDEX)))
    .orderBy(asc(xcoms.key))
  return Promise.all(
    rows.map(async (row) =>
      isItemsManifest(row.value) ? { ...row, value: await itemValues(database, runId, task) } : row,
    ),
  )
}

/** Whether a run's task has an item with this index (`--item` is checked against it). */
export async function hasItem(
  database: Database,
  runId: string,
  task: string,
  item: number,
): Promise<boolean> {
  const [row] = await database.rows<{ found: boolean }>(sql`
    select exists(select 1 from podline.task_runs where run_id = ${runId}::uuid and task = ${task}
                  and map_index = ${item}) as found`)
  return row?.found ?? false
}

export async function runOutputs(database: Database, runId: string): Promise<Record<string, unknown>> {
  const rows = await database.db
    .select({ task: xcoms.task, value: xcoms.value })
    .from(xcoms)
    .where(and(eq(xcoms.runId, runId), eq(xcoms.key, 'return_value'), eq(xcoms.mapIndex, NO_MAP_INDEX)))
  return expandItemManifests(database, runId, Object.fromEntries(rows.map((r) => [r.task, r.value])))
}

/** One pipeline's claimable work: what a worker serving it could claim now, and for how long the oldest waited. */
export interface PipelineQueue {
  pipeline: string
  /** Task runs queued, or up for retry and due. */
  depth: number
  /** Seconds since the longest-waiting of them became claimable; 0 when none waits. */
  oldestSeconds: number
}

/**
 * The queue of every registered pipeline (an empty one included, so a metric drops to 0 rather
 * than vanishing). Claimable as the claim reads it: CLAIMABLE_TASK_STATES, available now.
 */
export function queueByPipeline(database: Database): Promise<PipelineQueue[]> {
  return database.rows<PipelineQueue>(sql`
    select p.name as pipeline, count(t.id)::int as depth,
           coalesce(extract(epoch from now() - min(t.available_at)), 0)::float8 as "oldestSeconds"
    from (select distinct name from podline.pipelines) p
    left join podline.task_runs t
      on t.pipeline = p.name and t.state in ${states(...CLAIMABLE_TASK_STATES)} and t.available_at <= now()
    group by p.name
    order by p.name`)
}
