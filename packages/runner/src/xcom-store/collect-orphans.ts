import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { textArray } from '../store/sql-arrays.js'
import type { XComOffload } from './xcom-offload.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const BATCH = 500

/**
 * Deletes this database's objects that no XCom row references and that are older than `graceMs`:
 * the value of an attempt that lost its lease after writing it, a retried task's previous value, the
 * values of pruned runs. Only keys under this database's own prefix (`xcoms/<store id>/`) are
 * listed, so another database sharing the bucket or folder never loses an object to this one. The
 * grace covers an object written moments before the completion that records it. Each batch is
 * checked by run and task, through the xcoms table's primary key. Returns how many it deleted.
 */
export async function collectOrphanXComs(
  database: Database,
  xcoms: Pick<XComOffload, 'store' | 'prefix'>,
  options: { graceMs: number; now?: Date },
): Promise<number> {
  const { store, prefix } = xcoms
  const before = (options.now ?? new Date()).getTime() - options.graceMs
  let deleted = 0
  let batch: Array<{ key: string; runId: string; task: string }> = []
  const flush = async () => {
    if (batch.length === 0) return
    const orphans = await database.rows<{ key: string }>(sql`
      select k.key from unnest(${textArray(batch.map((b) => b.key))}, ${textArray(batch.map((b) => b.runId))},
                               ${textArray(batch.map((b) => b.task))}) as k(key, run_id, task)
      where not exists (
        select 1 from podline.xcoms x
        where x.run_id = k.run_id::uuid and x.task = k.task and x.value -> '$podline' ->> 'key' = k.key)
      -- An asset event's value outlives its producing run: it is the event's until the event goes.
      and not exists (
        select 1 from podline.asset_events e
        where e.run_id = k.run_id::uuid and e.task = k.task and e.value -> '$podline' ->> 'key' = k.key)`)
    await store.delete(orphans.map((o) => o.key))
    deleted += orphans.length
    batch = []
  }
  for await (const object of store.list(prefix)) {
    if (object.modified.getTime() > before || !object.key.startsWith(prefix)) continue
    const [runId, task] = object.key.slice(prefix.length).split('/')
    // Not a key Podline wrote: left alone.
    if (!runId || !UUID.test(runId) || task === undefined) continue
    batch.push({ key: object.key, runId, task: decodeURIComponent(task) })
    if (batch.length >= BATCH) await flush()
  }
  await flush()
  return deleted
}

/**
 * Deletes the objects of runs that were pruned, right after the batch that deleted their rows;
 * what a failure leaves behind, the collection of orphans removes later. Every key of a run starts
 * with `<prefix><run id>/`; keys written before stores had a prefix of their own start with
 * `xcoms/<run id>/`, and a run id is a random UUID of this database's, so that folder is its too.
 * A run whose output an asset event holds by reference keeps its objects: the collection of
 * orphans deletes the others later, and that one never while the event is there.
 * Returns how many objects it deleted.
 */
export async function deleteRunObjects(
  database: Database,
  xcoms: Pick<XComOffload, 'store' | 'prefix'>,
  runIds: readonly string[],
): Promise<number> {
  const { store, prefix } = xcoms
  let deleted = 0
  const kept = new Set(
    (
      await database.rows<{ run_id: string }>(sql`
        select distinct run_id::text from podline.asset_events
        where run_id = any(${textArray(runIds)}::uuid[]) and value ? '$podline'`)
    ).map((r) => r.run_id),
  )
  for (const runId of runIds) {
    if (kept.has(runId)) continue
    const keys: string[] = []
    for (const folder of [`${prefix}${runId}/`, `xcoms/${runId}/`]) {
      for await (const object of store.list(folder)) keys.push(object.key)
    }
    await store.delete(keys)
    deleted += keys.length
  }
  return deleted
}
