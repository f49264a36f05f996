import { and, asc, eq, gt } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { taskLogs } from '../store/schema.js'

/**
 * A run's log lines, or one task's (all its items' when mapped), or one item's (`item`), in order;
 * `afterId` and `limit` page them for a live tail.
 */
export function taskLogLines(
  database: Database,
  runId: string,
  task?: string,
  page: { afterId?: bigint; limit?: number; item?: number } = {},
) {
  const query = database.db
    .select()
    .from(taskLogs)
    .where(
      and(
        eq(taskLogs.runId, runId),
        task === undefined ? undefined : eq(taskLogs.task, task),
        page.afterId === undefined ? undefined : gt(taskLogs.id, page.afterId),
        page.item === undefined ? undefined : eq(taskLogs.mapIndex, page.item),
      ),
    )
    .orderBy(asc(taskLogs.id))
  return page.limit === undefined ? query : query.limit(page.limit)
}
