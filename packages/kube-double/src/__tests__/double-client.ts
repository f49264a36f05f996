import { ApiException, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node'
import type { KubeDouble } from '../kube-double.js'

export const node = process.execPath

export function clientFor(double: KubeDouble): { kc: KubeConfig; api: CoreV1Api } {
  const kc = new KubeConfig()
  kc.loadFromFile(double.kubeconfigPath)
  return { kc, api: kc.makeApiClient(CoreV1Api) }
}

/** Polls the pod through the API until `done` holds; fails with the last status seen. */
export async function waitForPod(
  api: CoreV1Api,
  name: string,
  done: (pod: V1Pod) => boolean,
  namespace = 'default',
): Promise<V1Pod> {
  let last: V1Pod | undefined
  for (let i = 0; i < 400; i++) {
    last = await api.readNamespacedPod({ name, namespace })
    if (done(last)) return last
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(
    `pod ${name} never reached the expected state; last status: ${JSON.stringify(last?.status)}`,
  )
}

/** What `container` of pod `name` in `default` wrote. */
export const podLog = (api: CoreV1Api, name: string, container: string): Promise<string> =>
  api.readNamespacedPodLog({ name, namespace: 'default', container })

export const isTerminal = (pod: V1Pod): boolean =>
  pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'

/** The API error a call failed with: its code and parsed Status body. */
export async function apiError(
  call: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await call
  } catch (error) {
    if (error instanceof ApiException) {
      const body =
        typeof error.body === 'string'
          ? (JSON.parse(error.body) as Record<string, unknown>)
          : (error.body as Record<string, unknown>)
      return { code: error.code, body, headers: error.headers }
    }
    throw error
  }
  throw new Error('expected the call to fail')
}
