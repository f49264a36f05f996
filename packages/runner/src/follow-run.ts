import { and, asc, eq, gt } from 'drizzle-orm'
import { OPEN_RUN_STATES } from './engine/states.js'
import { CANCEL_CHANNEL, QUEUE_CHANNEL, RUN_FINISHED_CHANNEL } from './queue/sql-values.js'
import { taskLogLines } from './read-model/task-log-lines.js'
import type { Database } from './store/database.js'
import { events, type RunState, runs, type taskLogs } from './store/schema.js'

export type RunEvent = typeof events.$inferSelect
export type TaskLogLine = typeof taskLogs.$inferSelect

/** What changed in a run since the previous batch (the first batch holds everything so far). */
export interface RunChanges {
  run: typeof runs.$inferSelect
  /** State transitions of the run and its tasks, in order. */
  events: RunEvent[]
  /** Task log lines, in order (only `task`'s when one is given). */
  logs: TaskLogLine[]
  /** The run has ended: this is the last batch. */
  ended: boolean
}

export interface FollowRunOptions {
  /** Only this task's log lines (events stay the whole run's). */
  task?: string
  /**
   * How often the store is read when no notification comes. Task starts and log lines have no
   * channel, so this is how soon they show; ends, retries and cancels wake at once. Default 500 ms.
   */
  pollMs?: number
  /** Stops following (the generator rejects with the signal's reason). */
  signal?: AbortSignal
}

const READ_GAP_MS = 100

/**
 * Follows a run until it ends: yields what changed whenever something did, and last a batch with
 * `ended`. NOTIFYs wake it (a run finished or was cancelled, work of its version was queued); a poll
 * covers what has no channel and a notification lost to a reconnect. Throws when the run does not exist.
 */
export async function* followRun(
  database: Database,
  runId: string,
  options: FollowRunOptions = {},
): AsyncGenerator<RunChanges, void, undefined> {
  const { pollMs = 500, signal, task } = options
  let wake: () => void = () => {}
  let woken = false
  let version: string | undefined
  const onRunNotify = (id: string) => id === runId && wakeNow()
  // The queue's payload is a version: work of this run's version moved (a task done, a retry due).
  const onQueueNotify = (v: string) => v === version && wakeNow()
  function wakeNow(): void {
    woken = true
    wake()
  }
  const unlisten = await Promise.all([
    database.listen(RUN_FINISHED_CHANNEL, onRunNotify),
    database.listen(CANCEL_CHANNEL, onRunNotify),
    database.listen(QUEUE_CHANNEL, onQueueNotify),
  ])
  signal?.addEventListener('abort', wakeNow)
  let lastEvent = 0n
  let lastLog = 0n
  let first = true
  try {
    let lastRead = Number.NEGATIVE_INFINITY
    for (;;) {
      // A busy version NOTIFYs at every completion: a follower reads at most every READ_GAP_MS.
      const early = lastRead + READ_GAP_MS - performance.now()
      if (early > 0) await new Promise((resolve) => setTimeout(resolve, early))
      signal?.throwIfAborted()
      lastRead = performance.now()
      woken = false
      // The run first: whatever was written before it ended is then visible to the reads after.
      const [run] = await database.db.select().from(runs).where(eq(runs.id, runId))
      if (!run) throw new Error(`there is no run ${runId} in ${database.location}`)
      version = run.version
      const newEvents = await database.db
        .select()
        .from(events)
        .where(and(eq(events.runId, runId), gt(events.id, lastEvent)))
        .orderBy(asc(events.id))
      const newLogs = await taskLogLines(database, runId, task, { afterId: lastLog })
      lastEvent = newEvents.at(-1)?.id ?? lastEvent
      lastLog = newLogs.at(-1)?.id ?? lastLog
      const ended = !isOpen(run.state)
      if (first || ended || newEvents.length > 0 || newLogs.length > 0)
        yield { run, events: newEvents, logs: newLogs, ended }
      if (ended) return
      first = false
      if (woken) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = () => {}
    }
  } finally {
    signal?.removeEventListener('abort', wakeNow)
    await Promise.all(unlisten.map((fn) => fn().catch(() => {})))
  }
}

const isOpen = (state: RunState) => (OPEN_RUN_STATES as readonly RunState[]).includes(state)
