import { randomUUID } from 'node:crypto'
import type { JsonValue, PipelinePlan } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import type { Database, Executor } from '../store/database.js'
import { events, runs, taskRuns } from '../store/schema.js'
import { newRunTrace } from '../tracing/tracing.js'
import { admitRuns } from './admit-runs.js'
import { QUEUE_CHANNEL } from './sql-values.js'

/**
 * Creates a run and its task runs in one transaction: tasks without needs start queued, the rest
 * pending. Params must already be validated: nothing is written for invalid input.
 */
export async function createRun(database: Database, plan: PipelinePlan, params: JsonValue): Promise<string> {
  const runId = randomUUID()
  await database.db.transaction((tx) => insertRun(database, tx, { id: runId, plan, params }))
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
}

/**
 * Inserts a run inside the caller's transaction. With a tick, a run of the same (pipeline, logical
 * date) wins: nothing is written and the result is false. Under maxActiveRuns the root tasks wait
 * pending and admitRuns starts the run when the limit allows (at once, if it does now).
 */
export async function insertRun(database: Database, tx: Executor, run: NewRun): Promise<boolean> {
  const { id: runId, plan, params, tick } = run
  const limited = plan.maxActiveRuns !== undefined
  const rootState = limited ? ('pending' as const) : ('queued' as const)
  const needed = new Set(plan.tasks.flatMap((t) => t.needs))
  const inserted = await tx
    .insert(runs)
    .values({
      id: runId,
      pipeline: plan.name,
      version: plan.version,
      params,
      state: 'queued',
      maxActiveRuns: plan.maxActiveRuns ?? null,
      traceContext: newRunTrace(plan.name, plan.version, runId),
      ...(tick ? { logicalDate: tick.logicalDate, intervalStart: tick.intervalStart } : {}),
    })
    .onConflictDoNothing({ target: [runs.pipeline, runs.logicalDate] })
    .returning({ id: runs.id })
  if (inserted.length === 0) return false
  await tx.insert(taskRuns).values(
    plan.tasks.map((t) => ({
      runId,
      pipeline: plan.name,
      version: plan.version,
      task: t.name,
      kind: t.kind,
      needs: t.needs,
      isLeaf: !needed.has(t.name),
      triggerRule: t.options.triggerRule,
      state: t.needs.length === 0 ? rootState : ('pending' as const),
      maxAttempts: t.options.retries + 1,
      retries: t.options.retries,
      retryDelay: t.options.retryDelay,
      priority: t.options.priority,
      timeoutMs: t.options.timeoutMs,
      maxParallel: t.map?.maxParallel ?? null,
    })),
  )
  await tx.insert(events).values([
    {
      runId,
      toState: 'queued',
      message: `run of ${plan.name}@${plan.version} created${tick ? ` for ${tick.logicalDate.toISOString()}` : ''}`,
    },
    ...plan.tasks.map((t) => ({
      runId,
      task: t.name,
      attempt: 0,
      toState: t.needs.length === 0 ? rootState : 'pending',
    })),
  ])
  if (limited) await admitRuns(database, tx, plan.name)
  else await tx.execute(sql`select pg_notify(${QUEUE_CHANNEL}, ${plan.version})`)
  return true
}
