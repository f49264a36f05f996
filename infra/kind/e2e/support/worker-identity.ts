import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { E2eCluster } from './cluster.js'

/**
 * A kubeconfig that acts as the workers' ServiceAccount (infra/k8s/base/serviceaccount.yaml): the
 * same API server, a short-lived token from the TokenRequest API, and nothing of the admin
 * identity. What it may do is exactly what infra/k8s/base/role.yaml grants, which is the point.
 */
export async function workerKubeconfig(cluster: E2eCluster, dir: string): Promise<string> {
  const k8s = await import('@kubernetes/client-node')
  const admin = new k8s.KubeConfig()
  admin.loadFromFile(cluster.kubeconfig)
  if (cluster.context) admin.setCurrentContext(cluster.context)
  const server = admin.getCurrentCluster()
  if (!server) throw new Error(`${cluster.kubeconfig} names no cluster`)

  const { namespace, serviceAccount } = cluster.worker
  const request = await cluster.core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    // No audiences: the API server's own, which is who the worker talks to.
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  })
  const token = request.status?.token
  if (!token) throw new Error(`the TokenRequest for ${namespace}/${serviceAccount} returned no token`)

  const user = `system:serviceaccount:${namespace}:${serviceAccount}`
  const worker = new k8s.KubeConfig()
  worker.loadFromOptions({
    clusters: [server],
    users: [{ name: user, token }],
    contexts: [{ name: 'worker', cluster: server.name, user }],
    currentContext: 'worker',
  })
  const file = join(dir, 'worker.kubeconfig')
  writeFileSync(file, worker.exportConfig(), { mode: 0o600 })
  return file
}
