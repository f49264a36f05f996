import { and, asc, eq, sql } from 'drizzle-orm'
import { FAILED_TASK_STATES, type TaskState } from '../engine/states.js'
import { KEY_FROM_INPUTS } from '../queue/admit-tasks.js'
import { state, states } from '../queue/sql-values.js'
import { isVersionServed } from '../queue/workers.js'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX, runs, taskRuns } from '../store/schema.js'
import { callbacksOfRun } from './run-callbacks.js'

// One run as `podline status` shows it: its row, its tasks, its mapped items, its retries.

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
      /** A cache hit: the run whose output it took instead of running; null when it ran. */
      cachedFrom: taskRuns.cachedFrom,
      /** The task's concurrency key in this run; null without one, or while it waits for its inputs. */
      concurrencyKey: sql<string | null>`nullif(${taskRuns.concurrencyKey}, ${KEY_FROM_INPUTS})`,
      /** Queued, waiting for its key's admission (queue/admit-tasks.ts). */
      waitsForKey: sql<boolean>`${taskRuns.availableAt} = 'infinity'`,
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

export async function runStatus(database: Database, runId: string) {
  const [run] = await database.db.select().from(runs).where(eq(runs.id, runId))
  if (!run) return undefined
  const tasks = await runTasks(database, runId)
  /** Whether a live worker serves the run's version: a queued run whose version nobody serves waits forever. */
  const served = await isVersionServed(database, run.version)
  const items = await mappedItems(database, runId)
  const callbacks = await callbacksOfRun(database, runId)
  return { run, tasks, served, items, callbacks }
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
