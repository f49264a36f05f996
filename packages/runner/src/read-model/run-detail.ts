import type { PipelinePlan } from '@podline/sdk'
import { and, eq } from 'drizzle-orm'
import type { StoredAssetEvent } from '../queue/create-run.js'
import type { Database } from '../store/database.js'
import { pipelines, type TaskState } from '../store/schema.js'
import { runEvents } from './run-events.js'
import { runStatus } from './run-status.js'

/** One execution of a task as its events tell it: when it began, how it ended, on which worker. */
export interface Attempt {
  attempt: number
  state: TaskState
  startedAt: Date | null
  finishedAt: Date | null
  worker: string | null
  message: string | null
  /** From its start to its end; null while it runs. */
  durationMs: number | null
}

/** How long from `start` to `end`, in milliseconds; null until both are known. */
const durationMs = (start: Date | null, end: Date | null) =>
  start && end ? end.getTime() - start.getTime() : null

/**
 * A run as its page shows it: the run, its tasks (state, attempts, error and stack) with what each
 * needs, from the plan of the run's version, so the graph is drawn from what actually ran.
 */
export async function runDetail(database: Database, runId: string) {
  const status = await runStatus(database, runId)
  if (!status) return undefined
  const { run, tasks, served, items, callbacks } = status
  const [planRow, events] = await Promise.all([
    database.db
      .select({ plan: pipelines.plan })
      .from(pipelines)
      .where(and(eq(pipelines.name, run.pipeline), eq(pipelines.version, run.version)))
      .then((rows) => rows[0]),
    runEvents(database, runId),
  ])
  const plan = planRow?.plan as PipelinePlan | undefined
  const needs = new Map(plan?.tasks.map((t) => [t.name, t.needs]) ?? [])
  const attempts = new Map<string, Attempt[]>()
  for (const e of events) {
    // A mapped task's items have attempts of their own: the task's are those of its own row.
    if (e.task === null || e.attempt === null || e.attempt < 1 || e.mapIndex !== null) continue
    const list = attempts.get(e.task) ?? []
    attempts.set(e.task, list)
    let current = list.find((a) => a.attempt === e.attempt)
    if (!current) {
      current = {
        attempt: e.attempt,
        state: 'running',
        startedAt: null,
        finishedAt: null,
        worker: null,
        message: null,
        durationMs: null,
      }
      list.push(current)
    }
    const to = e.toState as TaskState
    current.state = to
    if (to === 'running') {
      current.startedAt ??= e.createdAt
      current.worker = e.worker
    } else if (e.fromState === 'running') {
      current.finishedAt = e.createdAt
      current.message = e.message
      current.durationMs = durationMs(current.startedAt, current.finishedAt)
    }
  }
  return {
    run: {
      id: run.id,
      pipeline: run.pipeline,
      version: run.version,
      params: run.params,
      state: run.state,
      error: run.error,
      logicalDate: run.logicalDate,
      concurrencyKey: run.concurrencyKey,
      deadlineAt: run.deadlineAt,
      deadlineMissedAt: run.deadlineMissedAt,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      durationMs: durationMs(run.startedAt, run.finishedAt),
      /** The asset events that created the run, by asset name; null for a run made otherwise. */
      assets: run.assets as Record<string, StoredAssetEvent> | null,
    },
    served,
    /** onFailure / onSuccess queued when the run ended: state, tries, last error. */
    callbacks,
    tasks: tasks.map((t) => ({
      ...t,
      needs: needs.get(t.task) ?? [],
      durationMs: durationMs(t.startedAt, t.finishedAt),
      attempts: attempts.get(t.task) ?? [],
      /** A mapped task's items: how many, by state, and the failed ones; null for other tasks. */
      items: items[t.task] ?? null,
    })),
  }
}
export type RunDetail = NonNullable<Awaited<ReturnType<typeof runDetail>>>
