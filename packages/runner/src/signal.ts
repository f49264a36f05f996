import type { JsonValue, PipelinePlan } from '@podline/sdk'
import { and, eq } from 'drizzle-orm'
import { jsonSchemaIssues } from './engine/json-schema-check.js'
import { endWait } from './queue/end-wait.js'
import type { Database } from './store/database.js'
import { NO_MAP_INDEX, pipelines, runs, taskRuns } from './store/schema.js'

/** A signal's payload at most: a decision and who made it, not a dataset (that goes through a task). */
export const MAX_SIGNAL_BYTES = 256 * 1024

/** Why a signal was refused; `issues` when its payload failed the wait's schema. */
export class SignalError extends Error {
  override readonly name = 'SignalError'
  constructor(
    message: string,
    readonly reason: 'unknown' | 'not-a-wait' | 'not-waiting' | 'invalid',
    readonly issues: ReadonlyArray<{ path: string; message: string }> = [],
  ) {
    super(message)
  }
}

/**
 * Sends a signal to a run's wait: checks the payload against the wait's schema (its JSON Schema in
 * the stored plan: `podline signal` and the UI's API have no pipeline code) and ends the wait with
 * it, so its downstream tasks start and receive it. A refused payload changes nothing: the step
 * keeps waiting. Throws SignalError naming what is wrong.
 */
export async function signalWait(
  database: Database,
  runId: string,
  task: string,
  payload: unknown,
): Promise<void> {
  const [row] = await database.db
    .select({ plan: pipelines.plan, state: taskRuns.state, pipeline: runs.pipeline })
    .from(runs)
    .innerJoin(pipelines, and(eq(pipelines.name, runs.pipeline), eq(pipelines.version, runs.version)))
    .leftJoin(
      taskRuns,
      and(eq(taskRuns.runId, runs.id), eq(taskRuns.task, task), eq(taskRuns.mapIndex, NO_MAP_INDEX)),
    )
    .where(eq(runs.id, runId))
  if (!row) throw new SignalError(`there is no run ${runId}`, 'unknown')
  const def = (row.plan as PipelinePlan).tasks.find((t) => t.name === task)
  if (!def || !row.state)
    throw new SignalError(`run ${runId} of ${row.pipeline} has no step "${task}"`, 'unknown')
  if (def.kind !== 'wait')
    throw new SignalError(
      `"${task}" of ${row.pipeline} is a ${def.kind === 'pod' ? 'pod ' : ''}task, not a wait: only a .wait step takes a signal`,
      'not-a-wait',
    )
  if (!def.wait?.signalJsonSchema)
    throw new SignalError(
      `"${task}" of ${row.pipeline} is a sleep: it ends by itself and takes no signal`,
      'not-a-wait',
    )
  const json = JSON.stringify(payload ?? null)
  if (Buffer.byteLength(json) > MAX_SIGNAL_BYTES)
    throw new SignalError(
      `the payload is ${Buffer.byteLength(json)} bytes; a signal carries at most ${MAX_SIGNAL_BYTES} (a decision, not a dataset: pass data through a task)`,
      'invalid',
    )
  const issues = await jsonSchemaIssues(def.wait.signalJsonSchema, payload, { useDefaults: true })
  if (issues.length > 0)
    throw new SignalError(
      `the payload for "${task}" failed its schema: ${issues.map((i) => `${i.path || 'payload'}: ${i.message}`).join('; ')}; the step keeps waiting`,
      'invalid',
      issues.map((i) => ({ path: i.path, message: i.message })),
    )
  if (
    row.state !== 'queued' ||
    !(await endWait(
      database,
      runId,
      task,
      { state: 'success', output: payload as JsonValue, message: 'signalled' },
      'signal',
    ))
  ) {
    const [now] = await database.db
      .select({ state: taskRuns.state })
      .from(taskRuns)
      .where(and(eq(taskRuns.runId, runId), eq(taskRuns.task, task), eq(taskRuns.mapIndex, NO_MAP_INDEX)))
    const state = now?.state ?? row.state
    throw new SignalError(
      state === 'pending'
        ? `"${task}" is not waiting yet: it starts waiting once the tasks it needs end; signal it then`
        : `"${task}" is not waiting: it is ${state} (a wait takes one signal)`,
      'not-waiting',
    )
  }
}
