import type { Database } from '../store/database.js'

/** The most lines one page carries (the UI's log). */
export const LOG_PAGE = 5000

/** Which page of a task's log: the first lines, those just after or before a line, or the last ones. */
export type LogPosition = { at: 'start' } | { after: bigint } | { before: bigint } | { at: 'end' }

export interface TaskLogPage {
  /** In order, all attempts' (and a mapped task's items') together, as `podline logs` shows them. */
  lines: {
    id: bigint
    attempt: number
    level: string
    message: string
    fields: unknown
    createdAt: Date
  }[]
  /** The task's lines now. */
  total: number
  /** The task's lines before the first one of `lines` (where it would begin, when empty). */
  offset: number
}

/**
 * One page of a task's log and where it lies in the whole. Pages are keyset pages on the log's
 * index (run, task, id), so the last page of a million lines costs what the first does; the counts
 * are one scan of that index.
 */
export async function taskLogPage(
  database: Database,
  runId: string,
  task: string,
  position: LogPosition,
  limit = LOG_PAGE,
): Promise<TaskLogPage> {
  const backwards = 'before' in position || ('at' in position && position.at === 'end')
  const found =
    limit === 0
      ? []
      : await database.db.query.taskLogs.findMany({
          columns: { id: true, attempt: true, level: true, message: true, fields: true, createdAt: true },
          where: (l, { and, eq, gt, lt }) =>
            and(
              eq(l.runId, runId),
              eq(l.task, task),
              'after' in position ? gt(l.id, position.after) : undefined,
              'before' in position ? lt(l.id, position.before) : undefined,
            ),
          // Backwards from the end (or from a line), then turned round.
          orderBy: (l, { asc, desc }) => (backwards ? desc(l.id) : asc(l.id)),
          limit,
        })
  const lines = backwards ? found.reverse() : found
  // Where the page begins: its first line, else where its first line would be (undefined: past the end).
  const start = lines[0]?.id ?? emptyPageStart(position)
  const counts = await database.db.query.taskLogs.findFirst({
    columns: {},
    where: (l, { and, eq }) => and(eq(l.runId, runId), eq(l.task, task)),
    extras: (l, { sql }) => ({
      total: sql<string>`count(*)`.as('total'),
      before: sql<string>`count(*) filter (where ${l.id} < ${start ?? null}::bigint)`.as('before'),
    }),
  })
  const total = Number(counts?.total ?? 0)
  return { lines, total, offset: start === undefined ? total : Number(counts?.before ?? 0) }
}

function emptyPageStart(position: LogPosition): bigint | undefined {
  if ('after' in position) return position.after + 1n
  if ('before' in position) return position.before
  return position.at === 'start' ? 0n : undefined
}
