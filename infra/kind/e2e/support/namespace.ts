import { randomBytes } from 'node:crypto'
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node'
import type { E2eCluster } from './cluster.js'

/**
 * A fresh namespace per test file, so scenarios never see each other's pods or quotas; `labels` go
 * beside the suite's own (a Pod Security level, say). The double serves no Namespace objects (it
 * takes any name) and keeps a namespace's labels for its admission.
 */
export async function createNamespace(
  cluster: E2eCluster,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`
  const all = { ...labels, 'podline.dev/e2e': 'true' }
  if (cluster.kind === 'double') {
    cluster.double.labelNamespace(name, all)
    return name
  }
  const { core } = cluster
  await core.createNamespace({ body: { metadata: { name, labels: all } } })
  // The namespace's default ServiceAccount, which task pods run as, appears a moment later.
  for (let i = 0; i < 50; i++) {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name })
      return name
    } catch {
      await sleep(200)
    }
  }
  throw new Error(`namespace ${name}: its default ServiceAccount never appeared`)
}

/** On the double, nothing: its pods go with it after the file's last test. */
export async function deleteNamespace(cluster: E2eCluster, name: string): Promise<void> {
  if (cluster.kind === 'cluster') await cluster.core.deleteNamespace({ name }).catch(() => {})
}

/**
 * The ResourceQuota of the quota scenarios, `require-limits`: every container must state its CPU
 * and memory limits. On the double, which serves no ResourceQuota objects, its quota fault.
 */
export async function requireLimitsQuota(cluster: E2eCluster, namespace: string): Promise<void> {
  const name = 'require-limits'
  if (cluster.kind === 'double') {
    cluster.double.faults.addResourceQuota({ namespace, name, hard: ['limits.cpu', 'limits.memory'] })
    return
  }
  await cluster.core.createNamespacedResourceQuota({
    namespace,
    body: { metadata: { name }, spec: { hard: { 'limits.memory': '2Gi', 'limits.cpu': '4' } } },
  })
}

/** Every pod Podline launched in the namespace (they carry its managed-by label). */
export async function podlinePods(core: CoreV1Api, namespace: string): Promise<V1Pod[]> {
  const list = await core.listNamespacedPod({
    namespace,
    labelSelector: 'app.kubernetes.io/managed-by=podline',
  })
  return list.items
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await check()
    if (value !== undefined) return value
    await sleep(500)
  }
  throw new Error(`timed out waiting for ${what}`)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
