import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startKubeDouble } from '@podline/kube-double'
import { simulatedPodTasks } from '@podline/runner/testing'
import postgres from 'postgres'
import { bulkTrigger } from './bulk-trigger.js'
import { podlineDatabase } from './databases.js'
import { singlePod } from './pipelines.js'
import { quantile } from './stats.js'

const WORKER = fileURLToPath(new URL('./pod-scale-worker.ts', import.meta.url))

export interface PodScaleResult {
  pods: number
  /** Pods whose base ran at the same moment, all supervised by the one worker. */
  concurrentPods: number
  watches: number
  lists: number
  namespaces: number
  /** API requests per pod task besides the shared list and watch, and by kind. */
  requestsPerPod: number
  byKind: Record<string, number>
  /** The worker process's RSS while it supervised every pod, and before it took any. */
  workerRssMb: number
  idleRssMb: number
  /** From a pod's base ending to its task run completed, p50 and p95. */
  overheadP50Ms: number
  overheadP95Ms: number
  /** From the gate opening to the last task completed, and over how long the bases ended. */
  drainMs: number
  endSpreadMs: number
}

/*
 * Pod supervision at scale: PODS runs of a one-pod pipeline, queued at once, one worker process
 * (concurrency 2, podConcurrency PODS) on the Kubernetes double with simulated containers. Every
 * base runs until a gate opens, so all pods are supervised together; then each base ends at its own
 * moment over the next `endSpreadMs` (20 ms per pod: 50 ends a second), and each task's overhead is
 * its completion minus its base's end.
 */
export async function measurePodScale(pods = 1000, endSpreadMs = pods * 20): Promise<PodScaleResult> {
  let open: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const baseEnded = new Map<string, number>()
  const double = await startKubeDouble({
    watchHistoryLimit: pods * 20,
    containers: simulatedPodTasks({
      until: () => gate.then(() => new Promise((r) => setTimeout(r, Math.random() * endSpreadMs))),
      result: () => 1,
      onBaseExit: (labels) => baseEnded.set(labels['podline.dev/run'] ?? '', Date.now()),
    }),
  })
  const db = await podlineDatabase()
  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      KUBECONFIG: double.kubeconfigPath,
      POD_CONCURRENCY: String(pods),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve())
      child.once('exit', (code) => reject(new Error(`the benchmark worker exited with ${code}`)))
    })
    const rssMb = () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024
    }
    const idleRssMb = rssMb()
    double.requests.reset()
    await bulkTrigger(db.url, singlePod, pods)
    const running = () =>
      double
        .pods()
        .filter((p) => p.status.containerStatuses?.some((s) => s.name === 'base' && s.state.running)).length
    const deadline = Date.now() + 120_000
    while (running() < pods) {
      if (Date.now() > deadline) throw new Error(`only ${running()} of ${pods} pods ran at once`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const concurrentPods = running()
    const workerRssMb = rssMb()
    const opened = Date.now()
    open()
    for (;;) {
      const [r] = await sql<{ open: number; failed: number }[]>`
        select count(*) filter (where state in ('queued', 'running'))::int as open,
               count(*) filter (where state <> 'success' and state not in ('queued', 'running'))::int as failed
        from podline.runs`
      if (r?.failed) throw new Error(`${r.failed} pod runs did not succeed`)
      if (r?.open === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const finished = await sql<{ runId: string; at: number }[]>`
      select run_id::text as "runId", extract(epoch from finished_at) * 1000 as at from podline.task_runs`
    const overheads = finished.map((f) => Number(f.at) - (baseEnded.get(f.runId) ?? Number.NaN))
    const drainMs = Math.max(...finished.map((f) => Number(f.at))) - opened
    // Deletions follow completion: wait for them so they are counted.
    while (double.pods().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    const snapshot = double.requests.snapshot()
    const shared = (snapshot['watch pods'] ?? 0) + (snapshot['list pods'] ?? 0)
    const byKind = Object.fromEntries(
      Object.entries(snapshot)
        .filter(([k]) => k !== 'watch pods' && k !== 'list pods')
        .map(([k, n]) => [k, Math.round((n / pods) * 100) / 100]),
    )
    return {
      pods,
      concurrentPods,
      watches: snapshot['watch pods'] ?? 0,
      lists: snapshot['list pods'] ?? 0,
      namespaces: 1,
      requestsPerPod: (double.requests.total - shared) / pods,
      byKind,
      workerRssMb,
      idleRssMb,
      overheadP50Ms: quantile(overheads, 0.5),
      overheadP95Ms: quantile(overheads, 0.95),
      drainMs,
      endSpreadMs,
    }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
    await sql.end()
    await db.drop()
    await double.close()
  }
}
