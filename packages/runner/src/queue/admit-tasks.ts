import { type SQL, sql } from 'drizzle-orm'
import type { Database, Executor } from '../store/database.js'
import { QUEUE_CHANNEL, state, states, TASK_KEY_CHANNEL } from './sql-values.js'

/** The states in which a task run with a concurrency key holds one of its key's places, once admitted. */
const HOLDING = states('queued', 'running', 'up_for_retry')

/**
 * concurrency_key of a task run whose key or priority its code computes from its inputs, which exist
 * only once its upstream tasks have ended. It queues unclaimable like any keyed task run (see
 * queuedAvailableAt), and a worker with the code computes both (worker/input-values.ts)
 * before admitKeyedTasks sees it. Never a real key: those have 1 to 200 characters.
 */
export const KEY_FROM_INPUTS = ''

/**
 * available_at of a task run entering `queued` (its upstreams decided, its run started, a retry
 * asked): now, or, for a task run with a concurrency key (`key`), 'infinity': it waits for
 * admitKeyedTasks, and no claim sees it until then (the claim indexes leave it out: ADMITTED).
 * Every statement that queues a task run from `pending` uses this, and no other value.
 */
export function queuedAvailableAt(key: SQL): SQL {
  return sql`case when ${key} is null then now() else 'infinity'::timestamptz end`
}

/** Tells the workers of the pipelines of `rows` (a relation with `pipeline`, `concurrency_key`) to admit. */
export function notifyTaskKeys(rows: SQL): SQL {
  return sql`select pg_notify(${TASK_KEY_CHANNEL}, pipeline)
    from (select distinct pipeline from ${rows} as keyed where concurrency_key is not null) k`
}

/**
 * A task's concurrency key: admits the waiting task runs of one pipeline's keyed tasks, oldest
 * first (the order of their runs), while each key has fewer than its limit of task runs holding a
 * place: admitted and not ended (queued, running or up for retry; a task run taken over keeps its
 * place). Admission makes a task run claimable (available_at now) and wakes the claim.
 *
 * Why not in the claim: as for a run's key (admit-runs.ts), one statement cannot count what a
 * concurrent one is taking. A per-pipeline advisory lock, taken by its own statement, orders the
 * admissions, and the count that follows reads a snapshot taken after the previous one committed;
 * an ending that has not committed yet is still counted, which only delays the next.
 *
 * Called in the transaction that creates a run whose root tasks have keys, and by every worker's
 * scheduler pass for the pipelines it serves that have keyed tasks (woken on TASK_KEY_CHANNEL).
 * Returns how many task runs still wait.
 */
export async function admitKeyedTasks(database: Database, tx: Executor, pipeline: string): Promise<number> {
  await database.rows(
    sql`select pg_advisory_xact_lock(hashtext('podline.admit-tasks'), hashtext(${pipeline}))`,
    tx,
  )
  const [result] = await database.rows<{ waiting: number }>(
    sql`
      with holding as (
        select task, concurrency_key as key, count(*)::int as n from podline.task_runs
        where pipeline = ${pipeline} and concurrency_key is not null and state in ${HOLDING}
          and available_at < 'infinity'
        group by task, concurrency_key
      ), waiting as (
        select id, task, concurrency_key as key, concurrency_limit as lim,
               row_number() over (partition by task, concurrency_key order by id) as place
        from podline.task_runs
        where pipeline = ${pipeline} and concurrency_key is not null and concurrency_key <> ${KEY_FROM_INPUTS}
          and state = ${state('queued')} and available_at = 'infinity'
      ), chosen as (
        select w.id from waiting w left join holding h on h.task = w.task and h.key = w.key
        where coalesce(h.n, 0) + w.place <= w.lim
      ), admitted as (
        update podline.task_runs t set available_at = now()
        from chosen
        where t.id = chosen.id and t.state = ${state('queued')} and t.available_at = 'infinity'
        returning t.version
      ), notified as (
        select pg_notify(${QUEUE_CHANNEL}, v.version) from (select distinct version from admitted) v
      )
      select (select count(*)::int from waiting) - (select count(*)::int from admitted) as waiting,
             (select count(*) from notified) as notified`,
    tx,
  )
  return result?.waiting ?? 0
}
