import { runStatus } from '../read-model/run-status.js'
import type { Database } from '../store/database.js'

/**
 * Polls `condition` until it returns a value other than `undefined`/`false`, failing with `what`
 * after `timeoutMs`: a wait on a condition with a deadline, never a fixed sleep.
 */
export async function waitUntil<T>(
  what: string,
  condition: () => T | false | undefined | Promise<T | false | undefined>,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await condition()
    if (value !== undefined && value !== false) return value
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** The status of run `runId` once it has ended (neither queued nor running), read every 50 ms. */
export function runEnded(
  database: Database,
  runId: string,
  timeoutMs = 30_000,
): Promise<NonNullable<Awaited<ReturnType<typeof runStatus>>>> {
  return waitUntil(
    `run ${runId} to end`,
    async () => {
      const status = await runStatus(database, runId)
      return status && status.run.state !== 'queued' && status.run.state !== 'running' ? status : undefined
    },
    timeoutMs,
  )
}
