import type { JsonValue } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { FAILED_TASK_STATES, OPEN_TASK_STATES } from '../engine/states.js'
import type { Database, Executor } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { isItemsManifest, REFERENCE_KEY } from '../store/xcom-row-value.js'
import { notifyTaskKeys, queuedAvailableAt } from './admit-tasks.js'
import { type AttemptRef, LeaseLostError } from './attempt-fence.js'
import { insertEvents, TASK_RUN } from './event-log.js'
import { NO_LEASE_NO_DEADLINE } from './lease-columns.js'
import { promoteDownstream } from './promote-downstream.js'
import { QUEUE_CHANNEL, state, states } from './sql-values.js'

/** How many failed items a mapped task's error names; `podline status` lists them all. */
const ITEMS_NAMED_IN_ERROR = 3

/*
 * A mapped task runs in two steps. Its own row is claimed like any task; the worker evaluates `over`
 * on the inputs and hands the items here. One fenced transaction (the run row locked first, as every
 * writer) then either ends the task at once (no items: success with []) or moves its row to running
 * without a lease (it is now the items' parent, which no worker holds and the reconciler never
 * expires) and inserts one task run per item in one statement, from the items as one jsonb
 * parameter. A worker that dies before this commits leaves nothing behind: the claim is taken over
 * and `over` evaluated again; the unique index (run_id, task, map_index) refuses a second expansion.
 *
 * Items are ordinary task runs (claimed, leased, fenced, retried, taken over), with the parent's
 * options, its pool among them: each item takes the task's poolSlots while it runs, and the parent,
 * running without a lease from here on, takes none (it took them only to evaluate `over`). Under maxParallel the first items are queued and the rest wait pending, and each item
 * that ends queues the next ones in its completion transaction (settleMappedItem), so the claim is
 * unchanged. When the last item ends, the same transaction ends the parent: failed when an item
 * failed, else success with a manifest as the parent's return_value (`{ "$podline": { "items": N } }`,
 * see ItemsManifest), which readers expand into the array of the items' values (expandItemManifests):
 * never one jsonb, whatever the items weigh together. Trigger rules see the parent only.
 */
export async function expandMappedTask(
  database: Database,
  ref: AttemptRef,
  items: readonly JsonValue[],
): Promise<void> {
  await database.db.transaction(async (tx) => {
    const [row] = await database.rows<{ ok: boolean; ended: boolean }>(
      sql`
        with locked as (
          select id from podline.runs where id = ${ref.runId}::uuid for no key update
        ), parent as (
          update podline.task_runs
          set state = case when ${items.length} = 0 then ${state('success')} else ${state('running')} end,
              finished_at = case when ${items.length} = 0 then now() end,
              ${NO_LEASE_NO_DEADLINE}
          where id = ${ref.id}::bigint and lease_owner = ${ref.workerId} and claims = ${ref.claim}
            and state = ${state('running')} and map_index = ${NO_MAP_INDEX} and exists (select 1 from locked)
          returning *
        ), items as (
          insert into podline.task_runs (run_id, pipeline, version, task, map_index, map_item, kind, needs, is_leaf,
                                         trigger_rule, state, max_attempts, retries, retry_delay, priority, timeout_ms,
                                         pool, pool_slots, callbacks, concurrency_key, concurrency_limit,
                                         available_at)
          select p.run_id, p.pipeline, p.version, p.task, (i.n - 1)::int, i.item, p.kind, p.needs, false,
                 p.trigger_rule,
                 case when p.max_parallel is null or i.n <= p.max_parallel then ${state('queued')} else ${state('pending')} end,
                 p.retries + 1, p.retries, p.retry_delay, p.priority, p.timeout_ms, p.pool, p.pool_slots,
                 p.callbacks, p.concurrency_key, p.concurrency_limit,
                 case when p.max_parallel is null or i.n <= p.max_parallel
                      then ${queuedAvailableAt(sql`p.concurrency_key`)} else now() end
          from parent p cross join jsonb_array_elements(${JSON.stringify(items)}::jsonb) with ordinality as i(item, n)
          returning run_id, task, map_index, state, pipeline, concurrency_key
        ), stored as (
          insert into podline.xcoms (run_id, task, key, value, size, attempt)
          select run_id, task, 'return_value', '[]'::jsonb, 2, attempt from parent where state = ${state('success')}
          on conflict (run_id, task, map_index, key) do update set value = excluded.value, size = excluded.size,
            attempt = excluded.attempt, created_at = now()
        ), logged as (${insertEvents(sql`parent`, {
          ...TASK_RUN,
          fromState: state('running'),
          toState: sql`state`,
          worker: ref.workerId,
          message: sql`case when state = ${state('success')} then 'over returned no items'
                            else 'over returned ' || ${items.length} || ' items' end`,
        })}), items_logged as (${insertEvents(sql`items`, {
          runId: sql`run_id`,
          task: sql`task`,
          mapIndex: sql`map_index`,
          attempt: sql`0`,
          toState: sql`state`,
        })}), woken as (
          select pg_notify(${QUEUE_CHANNEL}, version) from parent where state = ${state('running')}
        ), keys_notified as (${notifyTaskKeys(sql`(select * from items where state = ${state('queued')})`)})
        select exists(select 1 from parent) as ok, exists(select 1 from parent where state = ${state('success')}) as ended,
               (select count(*) from woken) as n, (select count(*) from keys_notified) as keys_notified`,
      tx,
    )
    if (!row?.ok) {
      throw new LeaseLostError(
        `mapped task "${ref.task}" of run ${ref.runId}: this worker no longer holds its lease; its items were not created`,
      )
    }
    if (row.ended)
      await promoteDownstream(database, tx, ref.runId, ref.isLeaf ? [] : [ref.task], ref.workerId, {
        runLocked: true,
      })
  })
}

/**
 * After `ended` items of a mapped task reach a terminal state, inside the caller's transaction
 * (which holds the run row): under maxParallel queue as many pending items as ended (the window
 * stays full), and when no item is left open, end the parent and promote its downstream tasks.
 * Both are probes of task_runs_open_idx (run, state, task, item), and the parent's row is not
 * written until the end, so an item's end costs the same with 10 items or 10,000; only the last
 * one reads them all, to assemble the output.
 */
export async function settleMappedItems(
  database: Database,
  tx: Executor,
  runId: string,
  task: string,
  workerId: string | null,
  ended = 1,
): Promise<void> {
  await queueNextItems(database, tx, runId, task, workerId, ended)
  // One probe per open state, from the highest index down: the items that ended leave dead entries
  // at the low end of each state's range (items run roughly in order), which a scan upwards would
  // step over at every end.
  const probes = OPEN_TASK_STATES.map(
    (open) => sql`(select map_index from podline.task_runs
                   where run_id = ${runId}::uuid and state = ${state(open)} and task = ${task} and map_index >= 0
                   order by map_index desc limit 1) is not null`,
  )
  const [open] = await database.rows<{ open: boolean }>(
    sql`select ${sql.join(probes, sql` or `)} as open`,
    tx,
  )
  if (open?.open !== false) return
  const [end] = await database.rows<{ ended: boolean; leaf: boolean }>(
    sql`
      with parent as (
        select id from podline.task_runs
        where run_id = ${runId}::uuid and task = ${task} and map_index = ${NO_MAP_INDEX} and state = ${state('running')}
      ), outcome as (
        select count(*) as total,
               count(*) filter (where state in ${states(...FAILED_TASK_STATES)} or state = ${state('cancelled')}) as failed,
               (array_agg('item ' || map_index || ': ' || coalesce(error, state) order by map_index)
                 filter (where state in ${states(...FAILED_TASK_STATES)} or state = ${state('cancelled')}))[1:${ITEMS_NAMED_IN_ERROR}] as errors
        from podline.task_runs
        where run_id = ${runId}::uuid and task = ${task} and map_index >= 0
        having count(*) filter (where state in ${states(...OPEN_TASK_STATES)}) = 0
      ), assembled as (
        -- A manifest, not the array: the items' values stay in their rows. Its size is theirs.
        select jsonb_build_object(${REFERENCE_KEY}::text, jsonb_build_object('items', o.total)) as value,
               least((select coalesce(sum(x.size), 0) from podline.xcoms x
                where x.run_id = ${runId}::uuid and x.task = ${task} and x.map_index >= 0
                  and x.key = 'return_value'), 2147483647)::int as size
        from outcome o where o.failed = 0
      ), ended as (
        update podline.task_runs t
        set state = case when o.failed = 0 then ${state('success')} else ${state('failed')} end,
            finished_at = now(),
            error = case when o.failed = 0 then null
                         else o.failed || ' of ' || o.total || ' items failed: ' || array_to_string(o.errors, '; ')
                              || case when o.failed > ${ITEMS_NAMED_IN_ERROR} then '; …' else '' end end
        from outcome o, parent p
        where t.id = p.id
        returning t.run_id, t.task, t.attempt, t.state, t.error, t.is_leaf
      ), stored as (
        insert into podline.xcoms (run_id, task, key, value, size, attempt)
        select e.run_id, e.task, 'return_value', a.value, a.size, e.attempt
        from ended e, assembled a where e.state = ${state('success')}
        on conflict (run_id, task, map_index, key) do update set value = excluded.value, size = excluded.size,
          attempt = excluded.attempt, created_at = now()
      ), logged as (${insertEvents(sql`ended`, {
        ...TASK_RUN,
        fromState: state('running'),
        toState: sql`state`,
        worker: workerId,
        message: sql`error`,
      })})
      select exists(select 1 from ended) as ended, coalesce((select is_leaf from ended), false) as leaf`,
    tx,
  )
  if (end?.ended)
    await promoteDownstream(database, tx, runId, end.leaf ? [] : [task], workerId, { runLocked: true })
}

/** Under maxParallel, queues up to `slots` pending items of a running mapped task, in item order. */
export async function queueNextItems(
  database: Database,
  tx: Executor,
  runId: string,
  task: string,
  workerId: string | null,
  slots: number,
): Promise<void> {
  await database.rows(
    sql`
      with next as (
        select t.id from podline.task_runs t
        where t.run_id = ${runId}::uuid and t.state = ${state('pending')} and t.task = ${task} and t.map_index >= 0
        order by t.map_index
        limit coalesce((select case when max_parallel is null then 0 else ${slots}::int end
                        from podline.task_runs
                        where run_id = ${runId}::uuid and task = ${task} and map_index = ${NO_MAP_INDEX}
                          and state = ${state('running')}), 0)
      ), queued as (
        update podline.task_runs t set state = ${state('queued')}, available_at = ${queuedAvailableAt(sql`t.concurrency_key`)}
        from next where t.id = next.id
        returning t.run_id, t.task, t.map_index, t.attempt, t.version, t.pipeline, t.concurrency_key
      ), logged as (${insertEvents(sql`queued`, {
        ...TASK_RUN,
        mapIndex: sql`map_index`,
        fromState: state('pending'),
        toState: state('queued'),
        worker: workerId,
        message: sql`'maxParallel allows it'`,
      })}), keys_notified as (${notifyTaskKeys(sql`queued`)})
      select pg_notify(${QUEUE_CHANNEL}, version), (select count(*) from keys_notified) as keys_notified
      from queued limit 1`,
    tx,
  )
}

/**
 * The values with each items manifest (a mapped task's return_value) replaced by the array of its
 * items' values as stored (a large one a reference into the XCom store), in item order; an item that
 * returned nothing is null. One statement per manifest, each item's value a lookup by the whole key:
 * as a join, a planner without statistics on fresh tables read every XCom for every item.
 */
export async function expandItemManifests<T extends Record<string, unknown>>(
  database: Database,
  runId: string,
  values: T,
): Promise<T> {
  const manifests = Object.entries(values).filter(([, value]) => isItemsManifest(value))
  if (manifests.length === 0) return values
  const expanded: Record<string, unknown> = { ...values }
  for (const [task] of manifests) expanded[task] = await itemValues(database, runId, task)
  return expanded as T
}

/** The items' values of a mapped task, as stored, in item order. */
export async function itemValues(database: Database, runId: string, task: string): Promise<unknown[]> {
  const rows = await database.rows<{ value: unknown }>(sql`
    select (select x.value from podline.xcoms x
            where x.run_id = t.run_id and x.task = t.task and x.map_index = t.map_index and x.key = 'return_value') as value
    from podline.task_runs t
    where t.run_id = ${runId}::uuid and t.task = ${task} and t.map_index >= 0
    order by t.map_index`)
  return rows.map((r) => r.value ?? null)
}
