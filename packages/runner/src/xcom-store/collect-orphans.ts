import { sql } from 'drizzle-orm'
import { textArray } from '../queue/sql-values.js'
import type { Database } from '../store/database.js'
import type { XComStore } from './xcom-store.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const BATCH = 500

/**
 * Deletes the store's objects that no XCom row references and that are older than `graceMs`: the
 * value of an attempt that lost its lease after writing it, a retried task's previous value, the
 * values of pruned runs. The grace covers an object written moments before the completion that
 * records it. Each batch is checked by run and task, through the xcoms table's primary key.
 * Returns how many objects it deleted.
 */
export async function collectOrphanXComs(
  database: Database,
  store: XComStore,
  options: { graceMs: number; now?: Date },
): Promise<number> {
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
        where x.run_id = k.run_id::uuid and x.task = k.task and x.value -> '$podline' ->> 'key' = k.key)`)
    await store.delete(orphans.map((o) => o.key))
    deleted += orphans.length
    batch = []
  }
  for await (const object of store.list('xcoms/')) {
    if (object.modified.getTime() > before) continue
    const [, runId, task] = object.key.split('/')
    // Not a key Podline wrote: left alone.
    if (!runId || !UUID.test(runId) || task === undefined) continue
    batch.push({ key: object.key, runId, task: decodeURIComponent(task) })
    if (batch.length >= BATCH) await flush()
  }
  await flush()
  return deleted
}

/**
 * Deletes the objects of runs that were pruned (every key of a run starts with `xcoms/<run id>/`),
 * right after the batch that deleted their rows; what a failure leaves behind, the collection of
 * orphans removes later. Returns how many objects it deleted.
 */
export async function deleteRunObjects(store: XComStore, runIds: readonly string[]): Promise<number> {
  let deleted = 0
  for (const runId of runIds) {
    const keys: string[] = []
    for await (const object of store.list(`xcoms/${runId}/`)) keys.push(object.key)
    await store.delete(keys)
    deleted += keys.length
  }
  return deleted
}
