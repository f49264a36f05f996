import { and, asc, eq, sql } from 'drizzle-orm'
import { expandItemManifests, itemValues } from '../queue/mapped-tasks.js'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX, xcoms } from '../store/schema.js'
import { isItemsManifest } from '../store/xcom-row-value.js'

// The values a run's tasks returned, as `podline xcom` and runLocal read them.

/** A task's XComs (a mapped task's own: the array of its items' values), or those of one of its items (`item`). */
export async function taskXcoms(database: Database, runId: string, task: string, item?: number) {
  const rows = await database.db
    .select({ key: xcoms.key, value: xcoms.value, size: xcoms.size, attempt: xcoms.attempt })
    .from(xcoms)
    .where(and(eq(xcoms.runId, runId), eq(xcoms.task, task), eq(xcoms.mapIndex, item ?? NO_MAP_INDEX)))
    .orderBy(asc(xcoms.key))
  return Promise.all(
    rows.map(async (row) =>
      isItemsManifest(row.value) ? { ...row, value: await itemValues(database, runId, task) } : row,
    ),
  )
}

/** Whether a run's task has an item with this index (`--item` is checked against it). */
export async function hasItem(
  database: Database,
  runId: string,
  task: string,
  item: number,
): Promise<boolean> {
  const [row] = await database.rows<{ found: boolean }>(sql`
    select exists(select 1 from podline.task_runs where run_id = ${runId}::uuid and task = ${task}
                  and map_index = ${item}) as found`)
  return row?.found ?? false
}

export async function runOutputs(database: Database, runId: string): Promise<Record<string, unknown>> {
  const rows = await database.db
    .select({ task: xcoms.task, value: xcoms.value })
    .from(xcoms)
    .where(and(eq(xcoms.runId, runId), eq(xcoms.key, 'return_value'), eq(xcoms.mapIndex, NO_MAP_INDEX)))
  return expandItemManifests(database, runId, Object.fromEntries(rows.map((r) => [r.task, r.value])))
}
