import { type KubeDouble, type KubeDoubleOptions, startKubeDouble } from '@podline/kube-double'
import { afterAll, beforeAll } from 'vitest'
import { createKubeClient, type KubeClient } from '../kube-client.js'

export interface KubeDoubleHandle {
  readonly double: KubeDouble
  /** The runner's client of the double. */
  readonly kube: KubeClient
}

/**
 * A Kubernetes double started before the tests (register it at the top of a file or of a
 * describe) and closed after them; read its fields inside the tests.
 */
export function useKubeDouble(options?: KubeDoubleOptions): KubeDoubleHandle {
  let double: KubeDouble | undefined
  let kube: KubeClient | undefined
  beforeAll(async () => {
    double = await startKubeDouble(options)
  })
  afterAll(async () => {
    await double?.close()
  })
  const started = (): KubeDouble => {
    if (!double) throw new Error('the kube double is not started: read it inside a test or a hook')
    return double
  }
  return {
    get double() {
      return started()
    },
    get kube() {
      kube ??= createKubeClient({ kubeconfig: started().kubeconfigPath })
      return kube
    },
  }
}
