import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AppsV1Api, V1Deployment } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliBuilt, migrate, REPO_ROOT, triggerAndWait } from './support/cli.js'
import { clusterOf, probeCluster, title } from './support/cluster.js'
import { waitFor } from './support/namespace.js'

// infra/k8s/base's worker Deployment, with the worker image, in the cluster: it loads a pipeline
// from a ConfigMap, and launches that pipeline's pod in podline-tasks with the in-cluster token of
// its ServiceAccount. The pod runs on the host network to reach the database on this machine (and
// the API server on 127.0.0.1, where the cluster of infra/cluster answers).

const probe = await probeCluster()
const why = !probe.ok
  ? probe.reason
  : !probe.cluster.workerImage
    ? 'PODLINE_E2E_WORKER_IMAGE is not set (infra/cluster/test.sh sets it)'
    : !probe.cluster.inClusterDatabaseUrl
      ? 'PODLINE_E2E_IN_CLUSTER_DATABASE_URL is not set (infra/cluster/test.sh sets it)'
      : !cliBuilt
        ? 'apps/cli/dist/main.js is missing (npm run build)'
        : undefined

const NAME = 'podline-worker-e2e'
const HTTP_PORT = '18080'
const PIPELINE = 'e2e-in-cluster'

describe.skipIf(why !== undefined)(
  title('the worker Deployment in the cluster', why ? { ok: false, reason: why } : probe),
  () => {
    const cluster = () => clusterOf(probe)
    const databaseUrl = () => cluster().inClusterDatabaseUrl ?? ''
    let apps: AppsV1Api | undefined

    beforeAll(async () => {
      const { core, worker, shellImage } = cluster()
      const k8s = await import('@kubernetes/client-node')
      const kc = new k8s.KubeConfig()
      kc.loadFromFile(cluster().kubeconfig)
      if (cluster().context) kc.setCurrentContext(cluster().context as string)
      apps = kc.makeApiClient(k8s.AppsV1Api)
      const server = new URL(kc.getCurrentCluster()?.server ?? '')

      await migrate(databaseUrl())
      await core.createNamespacedConfigMap({
        namespace: worker.namespace,
        body: { metadata: { name: NAME }, data: { [`${PIPELINE}.ts`]: pipelineSource(shellImage) } },
      })
      const manifest = readFileSync(join(REPO_ROOT, 'infra', 'k8s', 'base', 'worker-deployment.yaml'), 'utf8')
      const deployment = k8s.loadYaml<V1Deployment>(manifest)
      await apps.createNamespacedDeployment({
        namespace: worker.namespace,
        body: forThisCluster(deployment, {
          image: cluster().workerImage ?? '',
          databaseUrl: databaseUrl(),
          apiHost: server.hostname,
          apiPort: server.port || '443',
          sidecarImage: shellImage,
          tasksNamespace: worker.tasksNamespace,
        }),
      })
    }, 120_000)

    afterAll(async () => {
      const { core, worker } = cluster()
      await apps?.deleteNamespacedDeployment({
        name: NAME,
        namespace: worker.namespace,
        gracePeriodSeconds: 0,
      })
      await core.deleteNamespacedConfigMap({ name: NAME, namespace: worker.namespace }).catch(() => {})
    })

    it('becomes available and runs a pipeline whose pod task reaches its downstream', async () => {
      const { core, worker } = cluster()
      await waitFor(
        'the worker Deployment to be available',
        async () => {
          const d = await apps?.readNamespacedDeployment({ name: NAME, namespace: worker.namespace })
          return (d?.status?.availableReplicas ?? 0) >= 1 ? d : undefined
        },
        180_000,
      ).catch(async (error: Error) => {
        // The worker's own words say more than a timeout.
        const pods = await core.listNamespacedPod({
          namespace: worker.namespace,
          labelSelector: `app.kubernetes.io/name=${NAME}`,
        })
        const pod = pods.items[0]
        const log = pod?.metadata?.name
          ? await core
              .readNamespacedPodLog({ name: pod.metadata.name, namespace: worker.namespace, tailLines: 30 })
              .catch(() => '')
          : ''
        throw new Error(`${error.message}\n${JSON.stringify(pod?.status?.containerStatuses)}\n${log}`)
      })

      const { state } = await triggerAndWait(PIPELINE, { DATABASE_URL: databaseUrl() })
      expect(state).toBe('success')
    }, 300_000)
  },
)

/** A pod task and a downstream that fails unless the pod's result arrived whole. */
function pipelineSource(image: string): string {
  return `import { pipeline } from '@podline/sdk'

export default pipeline('${PIPELINE}')
  .pod('produce', {}, {
    image: '${image}',
    command: ['sh', '-c', \`printf '{"where":"in-cluster","n":7}' > "$PODLINE_XCOM_PATH"\`],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
  })
  .task('check', { needs: ['produce'] }, async ({ produce }) => {
    const value = produce as { where?: string; n?: number }
    if (value.where !== 'in-cluster' || value.n !== 7) throw new Error('unexpected XCom ' + JSON.stringify(produce))
    return value.n * 6
  })
`
}

interface Settings {
  image: string
  databaseUrl: string
  apiHost: string
  apiPort: string
  sidecarImage: string
  tasksNamespace: string
}

/**
 * infra/k8s/base/worker-deployment.yaml as it is, except: one replica under a name of its own, the
 * local image, the pipeline ConfigMap at /pipelines, the host network (the database and the API
 * server listen on this machine's loopback, and no kube-proxy routes Service IPs), and the
 * database URL as a value instead of the dev overlay's Secret.
 */
function forThisCluster(d: V1Deployment, s: Settings): V1Deployment {
  const labels = { 'app.kubernetes.io/name': NAME }
  const spec = d.spec
  const pod = spec?.template.spec
  const container = pod?.containers[0]
  if (!spec || !pod || !container) throw new Error('worker-deployment.yaml has no container')
  d.metadata = { name: NAME, labels }
  spec.replicas = 1
  spec.selector = { matchLabels: labels }
  spec.template.metadata = { ...spec.template.metadata, labels }
  pod.hostNetwork = true
  pod.terminationGracePeriodSeconds = 5
  container.image = s.image
  container.lifecycle = undefined
  container.ports = [{ name: 'http', containerPort: Number(HTTP_PORT) }]
  const overrides: Record<string, string> = {
    DATABASE_URL: s.databaseUrl,
    PODLINE_HTTP_PORT: HTTP_PORT,
    PODLINE_NAMESPACE: s.tasksNamespace,
    PODLINE_SIDECAR_IMAGE: s.sidecarImage,
    PODLINE_DRAIN_TIMEOUT_MS: '2000',
    // In-cluster configuration reads these; the kubelet's would name the unrouted Service IP.
    KUBERNETES_SERVICE_HOST: s.apiHost,
    KUBERNETES_SERVICE_PORT: s.apiPort,
  }
  container.env = [
    ...(container.env ?? []).filter((e) => !(e.name in overrides)),
    ...Object.entries(overrides).map(([name, value]) => ({ name, value })),
  ]
  container.volumeMounts = [...(container.volumeMounts ?? []), { name: 'pipelines', mountPath: '/pipelines' }]
  pod.volumes = [...(pod.volumes ?? []), { name: 'pipelines', configMap: { name: NAME } }]
  return d
}
