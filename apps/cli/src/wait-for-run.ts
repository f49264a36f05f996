import type { Database } from '@podline/runner'

const RUN_FINISHED = 'podline_run_finished'

/**
 * Resolves with a run's final state. NOTIFY on 'podline_run_finished' answers at once; a slow poll
 * covers a notification lost to a reconnect (and the run ending before LISTEN took effect).
 */
export async function waitForRun(database: Database, runId: string, pollMs = 2000): Promise<string> {
  const { runStatus } = await import('@podline/runner')
  const ended = async () => {
    const state = (await runStatus(database, runId))?.run.state
    return state && state !== 'queued' && state !== 'running' ? state : undefined
  }
  let wake: () => void = () => {}
  const unlisten = await database.listen(RUN_FINISHED, (id) => id === runId && wake())
  try {
    for (;;) {
      const state = await ended()
      if (state) return state
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  } finally {
    await unlisten().catch(() => {})
  }
}
