import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { finalizeRunIfDone, promoteDownstream } from './promote-downstream.js'

/** A task whose lease expired this many times (its worker died each time) fails instead of looping. */
export const MAX_LEASE_EXPIRIES = 3

export interface ReconcileReport {
  requeued: number
  failed: number
  finalized: number
}

/*
 * The reconciler's periodic sweep, safe to run from every worker at once: a transaction-scoped
 * advisory lock lets one sweep proceed and the others skip. It requeues the attempts of dead workers
 * (expired leases), failing a task that has killed its worker MAX_LEASE_EXPIRIES times, and
 * finalises runs whose last transition was lost.
 */
export async function reconcile(database: Database, workerId: string | null): Promise<ReconcileReport> {
  return database.db.transaction(async (tx) => {
    const [lock] = await database.rows<{ ok: boolean }>(
      sql`select pg_try_advisory_xact_lock(hashtext('podline.reconcile')) as ok`,
      tx,
    )
    if (!lock?.ok) return { requeued: 0, failed: 0, finalized: 0 }
    const expired = await database.rows<{ runId: string; task: string; state: string }>(
      sql`
        with expired as (
          update podline.task_runs
          set state = case when lease_expiries + 1 >= ${MAX_LEASE_EXPIRIES} then 'failed' else 'queued' end,
              lease_expiries = lease_expiries + 1, available_at = now(),
              error = 'the worker ' || lease_owner || ' stopped renewing its lease (it died or lost the database) during attempt ' || attempt,
              finished_at = case when lease_expiries + 1 >= ${MAX_LEASE_EXPIRIES} then now() else null end,
              lease_owner = null, lease_expires_at = null, timeout_at = null
          where state = 'running' and lease_expires_at < now()
          returning run_id, task, attempt, state, error
        ), logged as (
          insert into podline.events (run_id, task, attempt, from_state, to_state, worker, message)
          select run_id, task, attempt, 'running', state, ${workerId}, error from expired
        )
        select run_id as "runId", task, state from expired`,
      tx,
    )
    const failedByRun = new Map<string, string[]>()
    for (const e of expired)
      if (e.state === 'failed') failedByRun.set(e.runId, [...(failedByRun.get(e.runId) ?? []), e.task])
    for (const [runId, tasks] of failedByRun) await promoteDownstream(database, tx, runId, tasks, workerId)
    if (expired.length > failedByRun.size) await tx.execute(sql`select pg_notify('podline_queue', '')`)
    const stuck = await database.rows<{ id: string }>(
      sql`select r.id from podline.runs r where r.state in ('queued', 'running')
          and not exists (select 1 from podline.task_runs t where t.run_id = r.id
                          and t.state not in ('success', 'failed', 'skipped', 'upstream_failed', 'cancelled'))
          limit 100`,
      tx,
    )
    let finalized = 0
    for (const run of stuck) if (await finalizeRunIfDone(database, tx, run.id, workerId)) finalized++
    return {
      requeued: expired.length - [...failedByRun.values()].flat().length,
      failed: [...failedByRun.values()].flat().length,
      finalized,
    }
  })
}
