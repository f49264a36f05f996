import { startKubeDouble } from '@podline/kube-double'
import { createPodRuntime, openDatabase, triggerPipeline, Worker } from '@podline/runner'
import { type AnyPipeline, pipeline } from '@podline/sdk'
import postgres from 'postgres'
import { podlineDatabase } from './databases.js'

export interface PodPathResult {
  pods: number
  requestsPerPod: number
  /** Requests per pod by verb and resource, e.g. `create pods`, `watch pods`. */
  byKind: Record<string, number>
  /** Mean claim-to-completion time of one pod task. */
  msPerPod: number
}

const PODS = 10

interface LoosePods {
  pod(name: string, options: object, spec: object): LoosePods
}

/** PODS independent pod tasks that each write a small XCom. */
function podPipeline(): AnyPipeline {
  let p = pipeline('bench-pods') as unknown as LoosePods
  for (let i = 0; i < PODS; i++)
    p = p.pod(`p${i}`, {}, { image: 'busybox:1.36', command: ['sh', '-c', 'echo 1 > "$PODLINE_XCOM_PATH"'] })
  return p as unknown as AnyPipeline
}

/*
 * The pod path: a worker (pod concurrency 1, so pods do not overlap) runs PODS pod tasks through the
 * Kubernetes double, which runs each pod's containers as real processes; we count the API requests
 * the launcher makes per pod and time each task from claim to completion.
 */
export async function measurePodPath(): Promise<PodPathResult> {
  const double = await startKubeDouble()
  const db = await podlineDatabase()
  const database = await openDatabase({ databaseUrl: db.url })
  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  const p = podPipeline()
  const worker = new Worker({
    database,
    pipelines: [p],
    concurrency: 1,
    podConcurrency: 1,
    pods: await createPodRuntime({ runtime: 'kubernetes', kube: { kubeconfig: double.kubeconfigPath } }),
  })
  try {
    await worker.start()
    double.requests.reset()
    const runId = await triggerPipeline(database, p, {})
    for (;;) {
      const [r] = await sql<{ state: string }[]>`select state from podline.runs where id = ${runId}::uuid`
      if (r && r.state !== 'queued' && r.state !== 'running') {
        if (r.state !== 'success') {
          const failed = await sql<{ task: string; error: string | null }[]>`
            select task, error from podline.task_runs where run_id = ${runId}::uuid and state <> 'success' limit 3`
          throw new Error(
            `the pod run ended ${r.state}: ${failed.map((f) => `${f.task}: ${f.error}`).join('; ')}`,
          )
        }
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const [t] = await sql<{ ms: number }[]>`
      select avg(extract(epoch from finished_at - started_at) * 1000)::float as ms
      from podline.task_runs where run_id = ${runId}::uuid`
    const byKind = Object.fromEntries(
      Object.entries(double.requests.snapshot()).map(([k, n]) => [k, Math.round((n / PODS) * 10) / 10]),
    )
    return { pods: PODS, requestsPerPod: double.requests.total / PODS, byKind, msPerPod: Number(t?.ms) }
  } finally {
    await worker.stop()
    await sql.end()
    await database.close()
    await db.drop()
    await double.close()
  }
}
