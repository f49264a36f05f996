import { type AnyPipeline, assetsOf } from '@podline/sdk'
import { createAssetRuns } from '../queue/asset-runs.js'
import { ASSET_CHANNEL } from '../queue/sql-values.js'
import type { Database } from '../store/database.js'
import { databaseErrorMessage } from '../store/database-error.js'
import type { WorkerLog } from '../worker-log.js'

/**
 * How often a pass runs without a notification: a safety net for one lost with a dropped
 * connection, and for an event that was not yet readable in order when its notification came.
 */
const PASS_MS = 1000
/**
 * How soon a pass comes again when the last one left events not yet readable in order: at first,
 * then twice as long each pass they still are not, up to PASS_MS (a long transaction holds them).
 */
const PENDING_FIRST_MS = 10

export interface AssetRunsLoopOptions {
  database: Database
  pipelines: readonly AnyPipeline[]
  log: WorkerLog
}

/**
 * Makes the runs of the pipelines this worker serves that run `on` assets: a pass when an event of
 * one of their assets is recorded (ASSET_CHANNEL), and every PASS_MS. Every such worker passes;
 * queue/asset-runs.ts makes each event's run once.
 */
export async function startAssetRuns(o: AssetRunsLoopOptions): Promise<{ stop(): Promise<void> }> {
  const consumers = o.pipelines.filter((p) => p.on !== undefined)
  const watched = new Set(
    consumers.flatMap((p) => assetsOf(p.on as NonNullable<AnyPipeline['on']>).map((a) => a.name)),
  )
  if (watched.size === 0) return { stop: async () => {} }
  let stopped = false
  let passing: Promise<void> | undefined
  let again = false
  let soon: NodeJS.Timeout | undefined
  /** The wait before the next pass when events are pending, grown while they stay so. */
  let pendingMs = PENDING_FIRST_MS
  let nextMs = 0
  const pass = (): void => {
    if (stopped) return
    if (passing) {
      again = true
      return
    }
    passing = createAssetRuns(o.database, consumers)
      .then((report) => {
        for (const problem of report.problems) o.log('error', `assets: ${problem}`)
        if (!report.pending) pendingMs = PENDING_FIRST_MS
        // A notification came during the pass: the next goes at once.
        if (again) return
        if (report.more) {
          again = true
          nextMs = 0
        } else if (report.pending) {
          again = true
          nextMs = pendingMs
          pendingMs = Math.min(PASS_MS, pendingMs * 2)
        }
      })
      .catch((error: unknown) =>
        o.log('warn', `making runs from asset events failed: ${databaseErrorMessage(error)}`),
      )
      .finally(() => {
        passing = undefined
        if (again && !stopped) {
          again = false
          clearTimeout(soon)
          soon = setTimeout(pass, nextMs)
          nextMs = 0
        }
      })
  }
  const timer = setInterval(pass, PASS_MS)
  const unlisten = await o.database.listen(ASSET_CHANNEL, (asset) => {
    if (watched.has(asset)) pass()
  })
  pass()
  return {
    async stop() {
      stopped = true
      clearInterval(timer)
      clearTimeout(soon)
      await unlisten().catch(() => {})
      await passing
    },
  }
}
