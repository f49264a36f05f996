import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { textArray } from '../store/sql-arrays.js'
import { admitKeyedTasks, KEY_FROM_INPUTS } from './admit-tasks.js'
import { finishAttempts } from './finish-attempt.js'
import { QUEUE_CHANNEL, state } from './sql-values.js'
import { takeQueuedTaskRun } from './take-queued.js'
import { upstreamValues } from './upstream-values.js'

/** Task runs computed per call at most: a burst is computed over a few passes, each one short. */
const VALUES_BATCH = 500

/** A queued task run whose key or priority waits for its inputs (KEY_FROM_INPUTS), with what they need. */
export interface AwaitingInputValues {
  id: string
  runId: string
  task: string
  version: string
  params: unknown
  /** The upstream values as stored: references to the XCom store and items manifests included. */
  inputs: Record<string, unknown>
}

/** The task runs of `versions` whose key or priority waits for their inputs, oldest first. */
export function awaitingInputValues(
  database: Database,
  pipeline: string,
  versions: readonly string[],
): Promise<AwaitingInputValues[]> {
  return database.rows<AwaitingInputValues>(sql`
    select t.id::text as id, t.run_id::text as "runId", t.task, t.version, r.params,
           ${upstreamValues(sql`t.run_id`, sql`t.needs`)} as inputs
    from podline.task_runs t join podline.runs r on r.id = t.run_id
    where t.pipeline = ${pipeline} and t.concurrency_key = ${KEY_FROM_INPUTS} and t.state = ${state('queued')}
      and t.available_at = 'infinity' and t.map_index = ${NO_MAP_INDEX} and t.version = any(${textArray(versions)})
    order by t.id
    limit ${VALUES_BATCH}`)
}

/** A task run's values as its code computed them from its inputs; null where it computes none. */
export interface InputValues {
  id: string
  key: string | null
  priority: number | null
}

/**
 * Stores the values computed from the inputs, in one transaction with the admission they allow: a
 * task run with a key waits for admitKeyedTasks, one without (its priority alone came from its
 * inputs) becomes claimable at once. Only task runs still waiting for their values are written:
 * any number of workers may compute the same at once, and the first write wins.
 */
export async function storeInputValues(
  database: Database,
  pipeline: string,
  values: readonly InputValues[],
): Promise<void> {
  if (values.length === 0) return
  await database.db.transaction(async (tx) => {
    const [stored] = await database.rows<{ keyed: number }>(
      sql`
        with stored as (
          update podline.task_runs t
          set concurrency_key = v.key, priority = coalesce(v.priority, t.priority),
              available_at = case when v.key is null then now() else 'infinity'::timestamptz end
          from jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as v(id bigint, key text, priority int)
          where t.id = v.id and t.concurrency_key = ${KEY_FROM_INPUTS} and t.state = ${state('queued')}
            and t.available_at = 'infinity'
          returning t.version, t.concurrency_key
        ), woken as (
          select pg_notify(${QUEUE_CHANNEL}, version)
          from (select distinct version from stored where concurrency_key is null) claimable
        )
        select (select count(*)::int from stored where concurrency_key is not null) as keyed,
               (select count(*) from woken) as woken`,
      tx,
    )
    if ((stored?.keyed ?? 0) > 0) await admitKeyedTasks(database, tx, pipeline)
  })
}

/**
 * Fails a task run whose key or priority could not be computed from its inputs (the function threw,
 * or returned what cannot be a key): no attempt of the task could help, so it fails without retries,
 * through the completion every attempt ends with (trigger rules then apply downstream).
 */
export async function failOnInputValues(
  database: Database,
  t: Pick<AwaitingInputValues, 'runId' | 'task'>,
  error: string,
  by: string,
): Promise<void> {
  const ref = await takeQueuedTaskRun(database, {
    runId: t.runId,
    task: t.task,
    still: sql`t.concurrency_key = ${KEY_FROM_INPUTS} and t.available_at = 'infinity'`,
    by,
    message: 'its key or priority could not be computed from its inputs',
  })
  if (ref) await finishAttempts(database, ref.workerId, [{ ref, outcome: { state: 'failed', error } }])
}
