import { randomBytes } from 'node:crypto'
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node'

/**
 * A fresh namespace per test file, so scenarios never see each other's pods or quotas; `labels` go
 * beside the suite's own (a Pod Security level, say).
 */
export async function createNamespace(
  core: CoreV1Api,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`
  await core.createNamespace({
    body: { metadata: { name, labels: { ...labels, 'podline.dev/e2e': 'true' } } },
  })
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

export async function deleteNamespace(core: CoreV1Api, name: string): Promise<void> {
  await core.deleteNamespace({ name }).catch(() => {})
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
