import type { AnyPipeline } from '@podline/sdk'
import { declaredPodNamespaces } from '../pods/declared-namespaces.js'
import { isTaskRunRunning } from '../queue/heartbeat.js'
import { pruneSweep } from '../queue/prune.js'
import { reconcile } from '../queue/reconcile.js'
import type { Database } from '../store/database.js'
import { databaseErrorMessage } from '../store/database-error.js'
import type { WorkerLog } from '../worker-log.js'
import { collectOrphanXComs, deleteRunObjects } from '../xcom-store/collect-orphans.js'
import type { XComOffload } from '../xcom-store/xcom-offload.js'
import type { PodExecutor } from './attempt-runner.js'
import type { LeaseKeeper } from './lease-keeper.js'

export interface MaintenanceOptions {
  database: Database
  workerId: string
  pipelines: readonly AnyPipeline[]
  /** Renewed before each sweep, so a late inline renewal never gets this worker's own tasks requeued. */
  leases: Pick<LeaseKeeper, 'renewNow'>
  reconcileMs: number
  /** Pods whose task run no longer runs are deleted at most this often, on a reconcile. */
  orphanSweepMs: number
  /** Each reconcile prunes runs finished longer ago than this; undefined: no pruning. */
  pruneOlderThanMs: number | undefined
  xcoms: XComOffload | undefined
  /** Whether to collect the XCom store's unreferenced objects (not for a worker serving one run). */
  collectXComs: boolean
  xcomOrphanGraceMs: number | undefined
  pods: { collectOrphans?: PodExecutor['collectOrphans'] } | undefined
  log: WorkerLog
}

/**
 * A worker's timers beside its claim loop, any worker's share of the store's upkeep: the reconcile
 * (expired leases, stranded runs; with it retention's prune and the orphan pod sweep) and the
 * collection of XCom objects no row references. Each failure is logged and tried again next time.
 */
export function startMaintenance(o: MaintenanceOptions): { stop(): void } {
  const timers: NodeJS.Timeout[] = []
  let lastOrphanSweep = 0
  let collectingXComs = false

  const reconcileOnce = async (): Promise<void> => {
    try {
      // After a blocked loop an inline renewal may be late: renew first, so the sweep does not requeue our own tasks.
      await o.leases.renewNow()
      const report = await reconcile(o.database, o.workerId)
      if (report.requeued || report.failed) o.log('info', 'reconciled expired leases', { ...report })
      if (report.promoted)
        o.log('info', 'decided the pending tasks of runs a previous runner left stranded', { ...report })
      if (o.pruneOlderThanMs !== undefined) {
        const xcoms = o.xcoms
        const pruned = await pruneSweep(
          o.database,
          o.pruneOlderThanMs,
          xcoms &&
            ((runIds) =>
              deleteRunObjects(o.database, xcoms, runIds).then(
                () => {},
                (error: unknown) =>
                  o.log(
                    'warn',
                    `the XCom objects of pruned runs stay until the orphan collection: ${(error as Error).message}`,
                  ),
              )),
        )
        if (pruned) o.log('info', `pruned ${pruned} finished runs`)
      }
      const pods = o.pods
      if (pods?.collectOrphans && Date.now() - lastOrphanSweep > o.orphanSweepMs) {
        lastOrphanSweep = Date.now()
        const sweep = {
          store: await o.database.storeId(),
          namespaces: declaredPodNamespaces(o.pipelines),
        }
        const deleted = await pods.collectOrphans(sweep, (ref) => isTaskRunRunning(o.database, ref))
        if (deleted) o.log('info', `deleted ${deleted} orphaned pods`)
      }
    } catch (error) {
      o.log('warn', `reconcile failed: ${databaseErrorMessage(error)}`)
    }
  }

  /** Objects of the XCom store no row references, past the grace period (see collect-orphans.ts). */
  const collectXComs = async (xcoms: XComOffload, graceMs: number): Promise<void> => {
    if (collectingXComs) return
    collectingXComs = true
    try {
      const deleted = await collectOrphanXComs(o.database, xcoms, { graceMs })
      if (deleted) o.log('info', `deleted ${deleted} XCom objects no run references`)
    } catch (error) {
      o.log('warn', `collecting unreferenced XCom objects failed: ${databaseErrorMessage(error)}`)
    } finally {
      collectingXComs = false
    }
  }

  timers.push(setInterval(() => void reconcileOnce(), o.reconcileMs))
  const xcoms = o.xcoms
  if (xcoms && o.collectXComs) {
    const graceMs = o.xcomOrphanGraceMs ?? 3_600_000
    timers.push(setInterval(() => void collectXComs(xcoms, graceMs), graceMs))
  }
  return {
    stop() {
      for (const t of timers) clearInterval(t)
    },
  }
}
