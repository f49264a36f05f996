import { createPodRuntime, openDatabase, Worker } from '@podline/runner'
import { singlePod } from './pipelines.js'

/*
 * The worker process of the pod-scale benchmark: one Worker with concurrency 2 on DATABASE_URL,
 * pods on the Kubernetes double of KUBECONFIG, up to POD_CONCURRENCY pod tasks at once. Apart from
 * the double, so that its RSS is the worker's alone. Prints `{"ready":true}`, stops on SIGTERM.
 */
const url = process.env.DATABASE_URL
const kubeconfig = process.env.KUBECONFIG
if (!url || !kubeconfig) throw new Error('DATABASE_URL and KUBECONFIG must be set')
const database = await openDatabase({ databaseUrl: url, poolSize: Number(process.env.POOL_SIZE ?? 4) })
const worker = new Worker({
  database,
  pipelines: [singlePod],
  concurrency: 2,
  podConcurrency: Number(process.env.POD_CONCURRENCY ?? 256),
  pods: await createPodRuntime({ runtime: 'kubernetes', kube: { kubeconfig } }),
})
await worker.start()
process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
process.once('SIGTERM', () => {
  void worker
    .stop({ drainMs: 2000 })
    .then(() => database.close())
    .then(() => process.exit(0))
})
