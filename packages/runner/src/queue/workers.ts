import { type SQL, sql } from 'drizzle-orm'
import type { Database, Executor } from '../store/database.js'

/** A worker as the workers table knows it: what `trigger` and `status` read to know who serves what. */
export interface WorkerRecord {
  id: string
  hostname: string
  pid: number
  /** The pipeline versions it has loaded. */
  versions: readonly string[]
  concurrency: number
  leaseMs: number
}

/** A worker row is live while its last heartbeat is younger than its lease (as its task runs' leases). */
export const liveWorker = (w: string): SQL =>
  sql.raw(`${w}.stopped_at is null and ${w}.heartbeat_at > now() - ${w}.lease_ms * interval '1 millisecond'`)

/** Dead this long (three leases without a heartbeat), a worker's row is deleted by the reconciler. */
const PRUNE_AFTER_LEASES = 3

/** Inserts or refreshes this worker's row: at start, and at a heartbeat if the row was pruned meanwhile. */
export function workerUpsert(w: WorkerRecord): SQL {
  return sql`
    insert into podline.workers as w (id, hostname, pid, versions, concurrency, lease_ms)
    values (${w.id}, ${w.hostname}, ${w.pid}, ${JSON.stringify(w.versions)}::jsonb, ${w.concurrency}, ${w.leaseMs})
    on conflict (id) do update set heartbeat_at = now(), stopped_at = null`
}

export async function registerWorker(database: Database, w: WorkerRecord): Promise<void> {
  await database.rows(workerUpsert(w))
}

/** A worker that stops deletes its row: it serves nothing any more. */
export async function retireWorker(database: Database, workerId: string): Promise<void> {
  await database.rows(sql`delete from podline.workers where id = ${workerId}`)
}

/** Deletes the rows of stopped workers and of workers that died (no heartbeat for a few leases). */
export async function pruneWorkers(database: Database, tx?: Executor): Promise<number> {
  const rows = await database.rows<{ id: string }>(
    sql`delete from podline.workers
        where stopped_at is not null
           or heartbeat_at < now() - ${PRUNE_AFTER_LEASES} * lease_ms * interval '1 millisecond'
        returning id`,
    tx,
  )
  return rows.length
}

/** The versions of `pipeline` that a live worker serves, newest registered first. */
export async function servedVersions(database: Database, pipeline: string): Promise<string[]> {
  const rows = await database.rows<{ version: string }>(sql`
    select p.version from podline.pipelines p
    where p.name = ${pipeline}
      and exists (select 1 from podline.workers w where ${liveWorker('w')} and w.versions ? p.version)
    order by p.created_at desc`)
  return rows.map((r) => r.version)
}

/** Whether a live worker serves this version. */
export async function isVersionServed(database: Database, version: string): Promise<boolean> {
  const [row] = await database.rows<{ served: boolean }>(sql`
    select exists (select 1 from podline.workers w where ${liveWorker('w')} and w.versions ? ${version}) as served`)
  return row?.served ?? false
}
