import type { JsonValue } from '@podline/sdk'
import { type SQL, sql } from 'drizzle-orm'
import { FAILED_TASK_STATES, type TaskState } from '../engine/states.js'
import type { Database, Executor } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'
import { inSpan } from '../tracing/tracing.js'
import { notifyTaskKeys } from './admit-tasks.js'
import { recordAssetEvents } from './asset-events.js'
import { type AttemptRef, LeaseLostError, leaseLost } from './attempt-fence.js'
import { insertEvents, TASK_RUN_OR_ITEM } from './event-log.js'
import { NO_LEASE_NO_DEADLINE } from './lease-columns.js'
import { expandMappedTask, settleMappedItems } from './mapped-tasks.js'
import { notifyFreedPools } from './pool-slots.js'
import { endRuns, finalizeRunsIfDone, promoteCounted, promoteDownstream } from './promote-downstream.js'
import { QUEUE_CHANNEL, state, states } from './sql-values.js'
import { storeCacheEntries } from './task-cache.js'
import { queueTaskCallbacks } from './task-callbacks.js'
import { type CountedRow, countEdges } from './upstream-counts.js'

/** How an attempt ended, as the worker reports it. */
export type AttemptOutcome =
  | {
      state: 'success'
      output: JsonValue | undefined
      size: number
      /** The output as JSON when it was already written (to measure it): not serialised twice. */
      json?: string
      /** A task with a cache: the entry its success stores (a hit stores none). */
      cache?: { key: string; ttlMs: number | null }
      /** A cache hit: the run whose stored output this success takes; the task did not run. */
      cachedFrom?: string
    }
  | {
      state: 'failed' | 'up_for_retry'
      error: string
      stack?: string
      /** For up_for_retry: the backoff. The due time is the database's now() plus it, not a worker's clock. */
      retryDelayMs?: number
    }
  | { state: 'skipped'; reason: string }
  /** A mapped task's own attempt evaluated `over`: its items become task runs (mapped-tasks.ts). */
  | { state: 'expanded'; items: JsonValue[] }

/** One attempt's end, as finishAttempts takes it (an expansion goes through finishAttempt alone). */
export interface AttemptEnding {
  ref: AttemptRef
  outcome: Exclude<AttemptOutcome, { state: 'expanded' }>
}

/*
 * Completion for one attempt or for a batch of them (the worker gathers the attempts that end within
 * a few milliseconds: worker/completion-batch.ts). The first statement is fenced row by row: each
 * matches only while this worker still holds the lease of that claim (not merely that attempt: a
 * takeover runs the same attempt), so a worker presumed dead cannot overwrite a newer attempt, and a
 * row fenced out of a batch is left out alone: the others complete. The same statement stores the
 * return_value XComs and the events, set-wise from one jsonb parameter, and locks the run rows (see
 * promoteDownstream for why).
 *
 * A run's only task run (soleTask) has no sibling to race: the same statement ends its run. A batch
 * of such endings (and of retries, which promote nothing) is that one statement, with no transaction
 * around it: one round trip. Any other ending needs its downstream tasks promoted, its mapped task
 * settled or its run finalised, which read what the statement wrote: they follow in the same
 * transaction, with the runs that only need finalising finalised together in one statement.
 *
 * Lock order: every run row of the batch first, in id order (as reconcile does: two batches that share
 * runs cannot deadlock), then the task runs. The runs are locked in a CTE that the UPDATE's WHERE reads
 * whole, as an array, before its first row: read through a join, the CTE was read as the join went, and
 * a batch held one run's task runs while it waited for the next run. Returns, for each ending, whether
 * it was stored.
 */
export async function finishAttempts(
  database: Database,
  workerId: string,
  endings: readonly AttemptEnding[],
): Promise<boolean[]> {
  if (endings.length === 0) return []
  // No span of its own: a batch serves attempts of many traces, each of which has its 'attempt finish' span.
  const alone = endings.every((e) => e.ref.soleTask || e.outcome.state === 'up_for_retry')
  const store = async (executor?: Executor) => {
    const [row] = await database.rows<Ended>(endStatement(workerId, endings), executor)
    const done = row?.done ?? []
    const stored = new Array<boolean>(endings.length).fill(false)
    for (const d of done) stored[d.i] = true
    return { done, stored, counted: row?.overlapped ? undefined : (row?.counted ?? []) }
  }
  if (alone) return (await store()).stored
  return database.db.transaction(async (tx) => {
    const { done, stored, counted } = await store(tx)
    await settle(database, tx, workerId, endings, done, counted)
    return stored
  })
}

/** What the completion's statement returns: one row. */
interface Ended {
  done: Array<{ i: number; state: TaskState }> | null
  /** The downstream rows whose counts the statement added to (the first round of promotion). */
  counted: Array<CountedRow & { runId: string }> | null
  /** An ending's downstream task ends in the same batch: nothing was counted, promotion counts. */
  overlapped: boolean
}

function endStatement(workerId: string, endings: readonly AttemptEnding[]): SQL {
  return sql`
    with v as materialized (
      select * from jsonb_to_recordset(${endingsJson(endings)}::jsonb)
        as v(i int, id bigint, run_id uuid, claim int, state text, error text, stack text,
             retry_ms float8, has_output boolean, output jsonb, size bigint, message text, sole boolean,
             cache_key text, cache_ttl_ms float8, cached_from uuid)
    ), locked as materialized (
      select id from podline.runs where id = any(array(select distinct run_id from v)) order by id for no key update
    ), done as (
      update podline.task_runs t
      set state = v.state, finished_at = now(), ${NO_LEASE_NO_DEADLINE},
          -- Claimed ahead, started, and ended before a claim recorded the start.
          started_at = coalesce(t.started_at, now()),
          error = v.error, error_stack = v.stack, cached_from = v.cached_from,
          available_at = coalesce(now() + v.retry_ms * interval '1 millisecond', t.available_at)
      from v
      where t.id = v.id and t.lease_owner = ${workerId} and t.claims = v.claim
        and t.state = ${state('running')} and t.run_id = any(array(select id from locked))
      returning v.i, t.run_id, t.task, t.map_index, t.attempt, t.version, t.state, t.error, t.downstream,
                t.pool, t.callbacks, t.pipeline, t.concurrency_key, t.produces, v.has_output, v.output, v.size,
                v.message, v.sole, v.cache_key, v.cache_ttl_ms, v.cached_from
    ), stored as (
      insert into podline.xcoms (run_id, task, map_index, key, value, size, attempt)
      select run_id, task, map_index, 'return_value', coalesce(output, 'null'::jsonb), size, attempt
      from done where has_output
      on conflict (run_id, task, map_index, key) do update set value = excluded.value, size = excluded.size, attempt = excluded.attempt, created_at = now()
    ), ${recordAssetEvents(sql`done`)}, ${storeCacheEntries(sql`done`)}, logged as (${insertEvents(
      sql`done`,
      {
        ...TASK_RUN_OR_ITEM,
        fromState: state('running'),
        toState: sql`state`,
        worker: workerId,
        message: sql`message`,
      },
    )}), ${queueTaskCallbacks(sql`done`)}, woken as (
      select pg_notify(${QUEUE_CHANNEL}, version)
      from (select distinct version from done where state = ${state('up_for_retry')}) retried
    ), pools_woken as (${notifyFreedPools(sql`done`)}), keys_freed as (
      ${notifyTaskKeys(sql`(select * from done where state <> ${state('up_for_retry')})`)}
    ), sole_status as (
      -- As finalizeRunsIfDone decides, for a run whose one task just ended.
      select run_id, state in ${states(...FAILED_TASK_STATES)} as leaf_failed,
             case when state = ${state('failed')} then task || ': ' || coalesce(error, state) end as errors
      from done where sole and state <> ${state('up_for_retry')}
    ), ${endRuns(sql.raw('sole_status'), workerId)}, edges as (
      -- The first round of promotion in passing: what the endings add to their downstream tasks'
      -- counts (upstream-counts.ts), saving promotion a statement. Not when a downstream task ends
      -- in this batch too (a row cannot be written twice by one statement): promotion counts then.
      select d.run_id, d.state, dt.task
      from done d cross join unnest(d.downstream) as dt(task)
      where not d.sole and d.map_index = ${NO_MAP_INDEX} and d.state <> ${state('up_for_retry')}
    ), overlap as (
      select 1 from edges e join done d on d.run_id = e.run_id and d.task = e.task limit 1
    ), ${countEdges(sql`not exists (select 1 from overlap)`)}
    select (select jsonb_agg(jsonb_build_object('i', i, 'state', state)) from done) as done,
           (select jsonb_agg(c) from counted_rows c) as counted,
           exists (select 1 from overlap) as overlapped,
           (select count(*) from woken) as woken, (select count(*) from pools_woken) as pools_woken,
           (select count(*) from run_notified) as notified,
           (select count(*) from callbacks_notified) as callbacks_notified,
           (select count(*) from task_callbacks_notified) as task_callbacks_notified,
           (select count(*) from keys_freed) as keys_freed,
           (select count(*) from assets_notified) as assets_notified`
}

/** What the endings that were stored set off: their mapped tasks settle, their downstream tasks promote, their runs end. */
async function settle(
  database: Database,
  tx: Executor,
  workerId: string,
  endings: readonly AttemptEnding[],
  done: ReadonlyArray<{ i: number; state: TaskState }>,
  /** The first round's counts, added by the completion's statement; undefined: not added. */
  counted: ReadonlyArray<CountedRow & { runId: string }> | undefined,
): Promise<void> {
  /** Each mapped task with items among the endings, and how many of its items ended here. */
  const mapped = new Map<string, { runId: string; task: string; ended: number }>()
  const promoted = new Map<string, string[]>()
  const finalised = new Set<string>()
  for (const { i, state: next } of done) {
    if (next === 'up_for_retry') continue
    const { ref } = endings[i] as AttemptEnding
    if (ref.soleTask) continue
    if (typeof ref.mapIndex === 'number') {
      const key = `${ref.runId}\0${ref.task}`
      const seen = mapped.get(key)
      if (seen) seen.ended++
      else mapped.set(key, { runId: ref.runId, task: ref.task, ended: 1 })
    } else if (!ref.isLeaf) promoted.set(ref.runId, [...(promoted.get(ref.runId) ?? []), ref.task])
    else finalised.add(ref.runId)
  }
  // Settling and promotion end their runs themselves when nothing is left.
  for (const { runId, task, ended } of mapped.values()) {
    finalised.delete(runId)
    // Under maxParallel, as many pending items are queued as ended: the window stays full.
    await settleMappedItems(database, tx, runId, task, workerId, ended)
  }
  for (const [runId, tasks] of promoted) {
    finalised.delete(runId)
    if (counted)
      await promoteCounted(
        database,
        tx,
        runId,
        counted.filter((c) => c.runId === runId),
        workerId,
      )
    else await promoteDownstream(database, tx, runId, tasks, workerId, { runLocked: true })
  }
  // A leaf's end promotes nothing, but its run may have ended: one statement decides for all of them.
  await finalizeRunsIfDone(database, tx, [...finalised], workerId)
}

/**
 * The endings as one jsonb array for jsonb_to_recordset. An output already serialised (to measure
 * it) is spliced in as it is, not parsed and serialised again; `has_output` tells a task that
 * returned null (stored) from one that returned nothing (not stored), which the record cannot.
 */
function endingsJson(endings: readonly AttemptEnding[]): string {
  const parts = endings.map(({ ref, outcome }, i) => {
    const failed = outcome.state === 'failed' || outcome.state === 'up_for_retry'
    const meta = JSON.stringify({
      i,
      id: ref.id,
      run_id: ref.runId,
      claim: ref.claim,
      state: outcome.state,
      error: failed ? outcome.error : null,
      stack: failed ? (outcome.stack ?? null) : null,
      retry_ms: outcome.state === 'up_for_retry' ? (outcome.retryDelayMs ?? 0) : null,
      message:
        outcome.state === 'skipped'
          ? outcome.reason
          : failed
            ? outcome.error
            : outcome.state === 'success' && outcome.cachedFrom
              ? `cached: the output of run ${outcome.cachedFrom}`
              : null,
      size: outcome.state === 'success' ? outcome.size : 0,
      cache_key: outcome.state === 'success' ? (outcome.cache?.key ?? null) : null,
      cache_ttl_ms: outcome.state === 'success' ? (outcome.cache?.ttlMs ?? null) : null,
      cached_from: outcome.state === 'success' ? (outcome.cachedFrom ?? null) : null,
      has_output: outcome.state === 'success' && outcome.output !== undefined,
      sole: ref.soleTask === true,
    })
    if (outcome.state !== 'success' || outcome.output === undefined) return meta
    return `${meta.slice(0, -1)},"output":${outcome.json ?? JSON.stringify(outcome.output)}}`
  })
  return `[${parts.join(',')}]`
}

/** Completes one attempt: an expansion creates its items, any other ending goes through finishAttempts alone. */
export function finishAttempt(database: Database, ref: AttemptRef, outcome: AttemptOutcome): Promise<void> {
  // Traced as XCom I/O too: a success stores its return_value in the same statement.
  return inSpan('attempt finish', { 'podline.outcome': outcome.state }, () =>
    outcome.state === 'expanded'
      ? expandMappedTask(database, ref, outcome.items)
      : finishAttempts(database, ref.workerId, [{ ref, outcome }]).then(([stored]) => {
          if (!stored) throw leaseLost(ref)
        }),
  )
}

/** Stores an XCom of a running attempt right away (pod_name, pod_namespace), fenced like completion. */
export function putXcom(database: Database, ref: AttemptRef, key: string, value: JsonValue): Promise<void> {
  return inSpan('xcom store', { 'podline.xcom_key': key }, () => storeXcom(database, ref, key, value))
}

async function storeXcom(database: Database, ref: AttemptRef, key: string, value: JsonValue): Promise<void> {
  const json = JSON.stringify(value)
  const [row] = await database.rows<{ ok: boolean }>(sql`
    with live as (
      select run_id, task, map_index, attempt from podline.task_runs
      where id = ${ref.id}::bigint and lease_owner = ${ref.workerId} and claims = ${ref.claim}
        and state = ${state('running')}
    ), stored as (
      insert into podline.xcoms (run_id, task, map_index, key, value, size, attempt)
      select run_id, task, map_index, ${key}, ${json}::jsonb, ${Buffer.byteLength(json)}, attempt from live
      on conflict (run_id, task, map_index, key) do update set value = excluded.value, size = excluded.size, attempt = excluded.attempt, created_at = now()
    )
    select exists(select 1 from live) as ok`)
  if (!row?.ok)
    throw new LeaseLostError(`task "${ref.task}" attempt ${ref.attempt}: lease lost, XCom ${key} not stored`)
}
