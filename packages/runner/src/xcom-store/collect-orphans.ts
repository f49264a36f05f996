import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { textArray } from '../store/sql-arrays.js'
import type { XComOffload } from './xcom-offload.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const BATCH = 500

/**
 * Of these object keys, those nothing references any more: no XCom row (a cache hit's row points to
 * another run's object), no live cache entry, no asset event. Each a probe of an index on the
 * reference's key.
 */
async function unreferencedKeys(database: Database, keys: readonly string[]): Promise<string[]> {
  if (keys.length === 0) return []
  const rows = await database.rows<{ key: string }>(sql`
    select k.key from unnest(${textArray(keys)}) as k(key)
    where not exists (
        select 1 from podline.xcoms x where x.value ? '$podline' and x.value -> '$podline' ->> 'key' = k.key)
      and not exists (
        select 1 from podline.task_cache c where c.value ? '$podline' and c.value -> '$podline' ->> 'key' = k.key)
      and not exists (
        select 1 from podline.asset_events e where e.value ? '$podline' and e.value -> '$podline' ->> 'key' = k.key)`)
  return rows.map((r) => r.key)
}

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
    const orphans = await unreferencedKeys(
      database,
      batch.map((b) => b.key),
    )
    await store.delete(orphans)
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
 * An object that something still references (a cache entry, a cache hit's row, an asset event)
 * stays: the collection of orphans deletes it once nothing does.
 * Returns how many objects it deleted.
 */
export async function deleteRunObjects(
  database: Database,
  xcoms: Pick<XComOffload, 'store' | 'prefix'>,
  runIds: readonly string[],
): Promise<number> {
  const { store, prefix } = xcoms
  let deleted = 0
  for (const runId of runIds) {
    const keys: string[] = []
    for (const folder of [`${prefix}${runId}/`, `xcoms/${runId}/`]) {
      for await (const object of store.list(folder)) keys.push(object.key)
    }
    const doomed = await unreferencedKeys(database, keys)
    await store.delete(doomed)
    deleted += doomed.length
  }
  return deleted
}
