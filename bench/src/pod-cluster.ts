import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node'
import postgres from 'postgres'
import { bulkTrigger } from './bulk-trigger.js'
import clusterPod from './cluster-pod-pipeline.js'
import { podlineDatabase } from './databases.js'
import { startCountingProxy } from './request-proxy.js'
import { quantile } from './stats.js'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js')
const PIPELINE = fileURLToPath(new URL('./cluster-pod-pipeline.ts', import.meta.url))

export interface PodTasksOptions {
  /** Where the pods ran, for the report: `kube double`, `cluster`. */
  label: string
  kubeconfig: string
  namespace: string
  pods: number
  /** PODLINE_POD_CONCURRENCY of the worker. */
  podConcurrency: number
  podImage?: string
  sidecarImage?: string
}

export interface PodTasksResult {
  label: string
  pods: number
  podConcurrency: number
  /** Pod creations per second, from the first create request to the last. */
  launchedPerSecond: number
  /** Pod tasks completed per second, from the first create request to the last completion. */
  tasksPerSecond: number
  wallMs: number
  /** API requests per pod task besides the shared watch and list, and all of them by kind. */
  requestsPerPod: number
  watches: number
  lists: number
  byKind: Record<string, number>
  /** From the base container's end (its own clock, 10 ms) to its task run completed, p50 / p95. */
  overheadP50Ms: number
  overheadP95Ms: number
  /** The same from the pod status's terminated.finishedAt (whole seconds: up to 1 s more). */
  finishedAtP50Ms: number
  finishedAtP95Ms: number
}

/** Milliseconds since the epoch of a /proc/uptime reading on this machine. */
function uptimeClock(): (uptime: number) => number {
  const now = Date.now()
  const up = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0])
  return (uptime) => now - up * 1000 + uptime * 1000
}

/**
 * PODS runs of a one-pod pipeline, queued at once, through one `podline worker --concurrency 1`
 * process whose API requests go through a counting proxy; the base's end comes from the pod (its
 * result) and from the bench's own watch (not counted), the completion from PostgreSQL.
 */
export async function measurePodTasks(o: PodTasksOptions): Promise<PodTasksResult> {
  const dir = mkdtempSync(join(tmpdir(), 'podline-bench-cluster-'))
  const db = await podlineDatabase()
  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  const proxy = await startCountingProxy(o.kubeconfig, dir)
  const kc = new KubeConfig()
  kc.loadFromFile(o.kubeconfig)
  const finishedAt = new Map<string, number>()
  const watch = await new Watch(kc).watch(
    `/api/v1/namespaces/${o.namespace}/pods`,
    { labelSelector: 'podline.dev/pipeline=bench-cluster-pod' },
    (_type: string, pod: V1Pod) => {
      const runId = pod.metadata?.annotations?.['podline.dev/run-id']
      const base = pod.status?.containerStatuses?.find((s) => s.name === 'base')
      const at = base?.state?.terminated?.finishedAt
      if (runId && at) finishedAt.set(runId, new Date(at).getTime())
    },
    () => {},
  )
  let output = ''
  const worker = spawn(process.execPath, [CLI, 'worker', PIPELINE, '--concurrency', '1'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      KUBECONFIG: proxy.kubeconfigPath,
      PODLINE_KUBE_CONTEXT: '',
      PODLINE_NAMESPACE: o.namespace,
      PODLINE_RUNTIME: 'kubernetes',
      PODLINE_POD_CONCURRENCY: String(o.podConcurrency),
      PODLINE_LOG_LEVEL: 'warn',
      ...(o.sidecarImage ? { PODLINE_SIDECAR_IMAGE: o.sidecarImage } : {}),
      ...(o.podImage ? { PODLINE_BENCH_POD_IMAGE: o.podImage } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  worker.stdout.on('data', (d: Buffer) => (output += d))
  worker.stderr.on('data', (d: Buffer) => (output += d))
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the worker did not start in 60 s:\n${output}`)),
        60_000,
      )
      worker.stdout.on('data', () => {
        if (/^worker \S+ started/m.test(output)) {
          clearTimeout(timer)
          resolve()
        }
      })
      worker.once('exit', (code) => reject(new Error(`the worker exited (${code}):\n${output}`)))
    })
    await bulkTrigger(db.url, clusterPod, o.pods)
    const deadline = Date.now() + 15 * 60_000
    for (;;) {
      const [r] = await sql<{ open: number; failed: number }[]>`
        select count(*) filter (where state in ('queued', 'running'))::int as open,
               count(*) filter (where state not in ('queued', 'running', 'success'))::int as failed
        from podline.runs`
      if (r?.failed) {
        const errors = await sql<{ error: string }[]>`
          select error from podline.task_runs where state <> 'success' and error is not null limit 3`
        throw new Error(`${r.failed} pod runs did not succeed: ${errors.map((e) => e.error).join('; ')}`)
      }
      if (r?.open === 0) break
      if (Date.now() > deadline)
        throw new Error(`${r?.open} of ${o.pods} pod runs still open after 15 minutes`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    // Deletions follow completions: wait for them so they are counted.
    const deletes = () => proxy.requests.filter((r) => r.kind === 'delete pods').length
    const deleteDeadline = Date.now() + 60_000
    while (deletes() < o.pods && Date.now() < deleteDeadline) await new Promise((r) => setTimeout(r, 100))

    const rows = await sql<{ runId: string; at: number; up: number | null }[]>`
      select t.run_id::text as "runId", extract(epoch from t.finished_at) * 1000 as at,
             (x.value ->> 'up')::float as up
      from podline.task_runs t
      left join podline.xcoms x on x.run_id = t.run_id and x.task = t.task and x.key = 'return_value'`
    const clock = uptimeClock()
    const overheads = rows.map((r) => Number(r.at) - (r.up === null ? Number.NaN : clock(r.up)))
    const byStatus = rows.map((r) => Number(r.at) - (finishedAt.get(r.runId) ?? Number.NaN))
    const creates = proxy.requests.filter((r) => r.kind === 'create pods').map((r) => r.at)
    const firstCreate = Math.min(...creates)
    const lastFinish = Math.max(...rows.map((r) => Number(r.at)))
    const counts = proxy.snapshot()
    const watches = counts['watch pods'] ?? 0
    const lists = counts['list pods'] ?? 0
    const total = proxy.requests.length
    return {
      label: o.label,
      pods: o.pods,
      podConcurrency: o.podConcurrency,
      launchedPerSecond: (creates.length - 1) / ((Math.max(...creates) - firstCreate) / 1000),
      tasksPerSecond: o.pods / ((lastFinish - firstCreate) / 1000),
      wallMs: lastFinish - firstCreate,
      requestsPerPod: (total - watches - lists) / o.pods,
      watches,
      lists,
      byKind: Object.fromEntries(
        Object.entries(counts).map(([k, n]) => [k, Math.round((n / o.pods) * 100) / 100]),
      ),
      overheadP50Ms: quantile(overheads, 0.5),
      overheadP95Ms: quantile(overheads, 0.95),
      finishedAtP50Ms: quantile(byStatus, 0.5),
      finishedAtP95Ms: quantile(byStatus, 0.95),
    }
  } finally {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGTERM')
    await exited
    watch.abort()
    await proxy.close()
    await sql.end()
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  }
}
