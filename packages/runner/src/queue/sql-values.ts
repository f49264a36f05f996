import { type SQL, sql } from 'drizzle-orm'
import type { RunState, TaskState } from '../engine/states.js'

/**
 * State names as SQL literals, typed against TASK_STATES / RUN_STATES, so a misspelt state is a
 * compile error. Literals, not parameters: the planner matches a partial index (state in (…)) only
 * when the query's predicate is written with the same constants.
 * @example sql`where state in ${states('queued', 'up_for_retry')}`
 */
export function states(...names: readonly [TaskState | RunState, ...(TaskState | RunState)[]]): SQL {
  return sql.raw(`(${names.map((n) => `'${n}'`).join(', ')})`)
}

/** One state as a SQL literal. @example sql`set state = ${state('running')}` */
export function state(name: TaskState | RunState): SQL {
  return sql.raw(`'${name}'`)
}

export const QUEUE_CHANNEL = 'podline_queue'
/** A run callback was queued: the payload is the run's version, so only workers serving it wake. */
export const CALLBACK_CHANNEL = 'podline_callback'
/** A pool's slots came back (a task run of it left `running`): the payload is the pool's name. */
export const POOL_CHANNEL = 'podline_pool'
export const CANCEL_CHANNEL = 'podline_cancel'
export const RUN_FINISHED_CHANNEL = 'podline_run_finished'
/**
 * A task run with a concurrency key was queued to wait for its key, or one left its place: the
 * payload is the pipeline, whose workers admit the next (queue/admit-tasks.ts).
 */
export const TASK_KEY_CHANNEL = 'podline_task_key'
/** An asset event was recorded: the payload is the asset's name, whose consumers' workers make runs of it. */
export const ASSET_CHANNEL = 'podline_asset'
