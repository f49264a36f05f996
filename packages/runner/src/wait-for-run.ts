import { eq } from 'drizzle-orm'
import { CANCEL_CHANNEL, RUN_FINISHED_CHANNEL } from './queue/sql-values.js'
import type { Database } from './store/database.js'
import { type RunState, runs } from './store/schema.js'

export type EndedRunState = Exclude<RunState, 'queued' | 'running'>

export interface WaitForRunOptions {
  /** How often the run's row is read in case a notification was missed. Default 2 s. */
  pollMs?: number
  /** Stops waiting (the promise rejects with the signal's reason); the run itself is untouched. */
  signal?: AbortSignal
}

/**
 * Resolves with a run's final state. A NOTIFY (the run finished, or was cancelled) answers at once;
 * a slow poll covers a notification lost to a reconnect and a run that ended before LISTEN took
 * effect. Rejects when the run does not exist.
 */
export async function waitForRun(
  database: Database,
  runId: string,
  options: WaitForRunOptions = {},
): Promise<EndedRunState> {
  const { pollMs = 2000, signal } = options
  // A notification that arrives while the row is being read is kept (`notified`): the wait after
  // that read ends at once instead of sleeping out a poll on a run that has already ended.
  let notified = false
  let wake: () => void = () => {
    notified = true
  }
  const onNotify = (id: string) => id === runId && wake()
  const unlisten = await Promise.all([
    database.listen(RUN_FINISHED_CHANNEL, onNotify),
    database.listen(CANCEL_CHANNEL, onNotify),
  ])
  const onAbort = () => wake()
  signal?.addEventListener('abort', onAbort)
  try {
    for (;;) {
      signal?.throwIfAborted()
      notified = false
      const [row] = await database.db.select({ state: runs.state }).from(runs).where(eq(runs.id, runId))
      if (!row) throw new Error(`there is no run ${runId} in ${database.location}`)
      if (row.state !== 'queued' && row.state !== 'running') return row.state
      if (notified) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = () => {
        notified = true
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    await Promise.all(unlisten.map((fn) => fn().catch(() => {})))
  }
}
