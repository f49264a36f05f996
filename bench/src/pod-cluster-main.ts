import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { startKubeDouble } from '@podline/kube-double'
import { measurePodTasks, type PodTasksResult } from './pod-cluster.js'
import { fixed, formatTable } from './table.js'

/*
 * `npm run bench:cluster` (infra/cluster/bench.sh, which starts and stops the cluster around it): the same
 * PODS pod tasks through one `podline worker --concurrency 1`, first on the Kubernetes double (its
 * containers real processes on this machine), then on the one-node cluster of
 * PODLINE_BENCH_KUBECONFIG, side by side. Prints a table, writes bench/results/cluster.json.
 */
const pods = Number(process.argv[2] ?? 200)
const podConcurrency = Number(process.argv[3] ?? 50)
const kubeconfig = process.env.PODLINE_BENCH_KUBECONFIG
if (!kubeconfig) throw new Error('PODLINE_BENCH_KUBECONFIG is not set (infra/cluster/bench.sh sets it)')
const image = process.env.PODLINE_BENCH_POD_IMAGE || 'podline.local/shell:1'
const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

log(`${pods} pod tasks on the Kubernetes double`)
const double = await startKubeDouble()
let onDouble: PodTasksResult
try {
  onDouble = await measurePodTasks({
    label: 'kube double',
    kubeconfig: double.kubeconfigPath,
    namespace: 'default',
    pods,
    podConcurrency,
  })
} finally {
  await double.close()
}

log(`${pods} pod tasks on the cluster`)
const kc = new KubeConfig()
kc.loadFromFile(kubeconfig)
const core = kc.makeApiClient(CoreV1Api)
const namespace = `podline-bench-${randomBytes(3).toString('hex')}`
await core.createNamespace({ body: { metadata: { name: namespace } } })
let onCluster: PodTasksResult
try {
  // Pods run as the namespace's default ServiceAccount, which appears a moment after it.
  const deadline = Date.now() + 30_000
  for (;;) {
    const found = await core
      .readNamespacedServiceAccount({ name: 'default', namespace })
      .catch(() => undefined)
    if (found) break
    if (Date.now() > deadline) throw new Error(`${namespace}: no default ServiceAccount after 30 s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  onCluster = await measurePodTasks({
    label: 'cluster',
    kubeconfig,
    namespace,
    pods,
    podConcurrency,
    podImage: image,
    sidecarImage: image,
  })
} finally {
  await core.deleteNamespace({ name: namespace }).catch(() => {})
}

const ratio = (a: number, b: number) => `${fixed(a / b, 2)}×`
const kinds = (r: PodTasksResult) =>
  Object.entries(r.byKind)
    .map(([k, n]) => `${k} ${n}`)
    .join('; ')
const rows = [
  [
    'pods launched per second',
    fixed(onDouble.launchedPerSecond, 1),
    fixed(onCluster.launchedPerSecond, 1),
    ratio(onCluster.launchedPerSecond, onDouble.launchedPerSecond),
  ],
  [
    'pod tasks completed per second',
    fixed(onDouble.tasksPerSecond, 1),
    fixed(onCluster.tasksPerSecond, 1),
    ratio(onCluster.tasksPerSecond, onDouble.tasksPerSecond),
  ],
  [
    'API requests per pod task beyond the shared watch and list',
    fixed(onDouble.requestsPerPod, 2),
    fixed(onCluster.requestsPerPod, 2),
    `watch/list: ${onDouble.watches}/${onDouble.lists} and ${onCluster.watches}/${onCluster.lists}`,
  ],
  ['  by kind, per pod task', kinds(onDouble), kinds(onCluster), ''],
  [
    'base end → task completed, p50 / p95 ms (container clock)',
    `${fixed(onDouble.overheadP50Ms)} / ${fixed(onDouble.overheadP95Ms)}`,
    `${fixed(onCluster.overheadP50Ms)} / ${fixed(onCluster.overheadP95Ms)}`,
    `p50 ${ratio(onCluster.overheadP50Ms, onDouble.overheadP50Ms)}`,
  ],
  [
    'terminated.finishedAt → task completed, p50 / p95 ms',
    `${fixed(onDouble.finishedAtP50Ms)} / ${fixed(onDouble.finishedAtP95Ms)}`,
    `${fixed(onCluster.finishedAtP50Ms)} / ${fixed(onCluster.finishedAtP95Ms)}`,
    'finishedAt is whole seconds on the cluster',
  ],
]
const table = formatTable(['measure', 'kube double', 'cluster', 'cluster / double'], rows)
process.stdout.write(
  `\n${pods} pod tasks, one worker (--concurrency 1, pod concurrency ${podConcurrency}), ${cpus().length} cores, Node ${process.version}\n\n${table}\n`,
)
const out = fileURLToPath(new URL('../results/', import.meta.url))
mkdirSync(out, { recursive: true })
writeFileSync(
  `${out}cluster.json`,
  `${JSON.stringify({ at: new Date().toISOString(), double: onDouble, cluster: onCluster, table }, null, 2)}\n`,
)
