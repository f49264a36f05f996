import type { AnyPipeline } from '@podline/sdk'
import { scheduleDueRuns } from '../queue/schedule-runs.js'
import type { Database } from '../store/database.js'
import { databaseErrorMessage } from '../store/database-error.js'
import type { WorkerLog } from '../worker-log.js'

export interface SchedulerOptions {
  database: Database
  pipelines: readonly AnyPipeline[]
  /** The worker whose timer this is. */
  workerId: string
  log: WorkerLog
  /** The longest sleep between passes, so pauses, new versions and outages are noticed. Default 10 s. */
  maxWaitMs?: number
}

/** How soon a pass comes again while a backfill or a limited run waits for runs to end. */
const WAITING_PASS_MS = 1000

/** Past a tick by this much, so the pass's now() is at or after it. */
const TICK_MARGIN_MS = 20

/**
 * Runs scheduleDueRuns on a timer that wakes just after the next tick of the schedules in force.
 * The sleep is measured from the database's clock (the pass reports it), so a worker whose clock
 * runs ahead wakes late rather than early and never skips a tick; idempotence makes any extra pass harmless.
 */
export function startScheduler(o: SchedulerOptions): { stop(): Promise<void>; wake(): void } {
  const maxWaitMs = o.maxWaitMs ?? 10_000
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let pass: Promise<void> = Promise.resolve()
  let passing = false
  /** A wake-up came during a pass: what it was for may have been read before it happened. */
  let again = false
  const run = async () => {
    passing = true
    let waitMs = maxWaitMs
    try {
      const report = await scheduleDueRuns(o.database, o.pipelines, o.workerId)
      for (const problem of report.problems) o.log('error', `schedule: ${problem}`)
      if (report.created > 0)
        o.log('info', `scheduled ${report.created} run${report.created === 1 ? '' : 's'}`)
      if (report.nextTickAt)
        waitMs = Math.min(maxWaitMs, report.nextTickAt.getTime() - report.now.getTime() + TICK_MARGIN_MS)
      if (report.waiting) waitMs = Math.min(waitMs, WAITING_PASS_MS)
      // A backfill cut into batches: the next batch at once, after the schedule's lock was let go.
      if (report.more) waitMs = 0
    } catch (error) {
      o.log('warn', `scheduling failed: ${databaseErrorMessage(error)}`)
    }
    passing = false
    if (again) {
      again = false
      waitMs = 0
    }
    if (!stopped)
      timer = setTimeout(
        () => {
          pass = run()
        },
        Math.max(TICK_MARGIN_MS, waitMs),
      )
  }
  pass = run()
  return {
    /** A run ended: a run waiting under maxActiveRuns or a concurrency key may start now, not at the next pass. */
    wake() {
      if (stopped) return
      if (passing) {
        again = true
        return
      }
      clearTimeout(timer)
      pass = run()
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await pass
    },
  }
}
