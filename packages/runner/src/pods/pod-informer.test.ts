import { randomUUID } from 'node:crypto'
import type { V1Pod } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { waitUntil } from '../testing/index.js'
import { useKubeDouble } from './__tests__/use-kube-double.js'
import { podLabels } from './pod-identity.js'
import { PodInformer, TIMED_OUT } from './pod-informer.js'

const cluster = useKubeDouble()

/** A pod of `store` whose container sleeps until deleted. */
async function createPod(store: string): Promise<V1Pod> {
  const identity = { store, pipeline: 'p', runId: randomUUID(), task: 't', attempt: 1 }
  return cluster.kube.core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: `informer-${randomUUID().slice(0, 8)}`, labels: podLabels(identity) },
      spec: { containers: [{ name: 'base', image: 'alpine:3.20', command: ['sleep', '30'] }] },
    },
  })
}

describe('the shared pod informer', () => {
  it('reports a pod deleted while its watch was down and its history compacted (re-list after 410)', async () => {
    const store = randomUUID()
    const pod = await createPod(store)
    cluster.double.requests.reset()
    const informer = new PodInformer(cluster.kube, 'default', store)
    try {
      const handle = informer.track(pod.metadata?.name ?? '', pod, new AbortController().signal)
      await waitUntil(
        'the watch',
        () => cluster.double.requests.count({ verb: 'watch', resource: 'pods' }) > 0,
        5000,
      )
      // The watch's reconnects fail while the pod goes and the history it would resume from is compacted.
      cluster.double.faults.failNext({ verb: 'watch', resource: 'pods', status: 500, count: 2 })
      cluster.double.faults.dropWatches()
      await cluster.kube.core.deleteNamespacedPod({
        name: pod.metadata?.name ?? '',
        namespace: 'default',
        gracePeriodSeconds: 0,
      })
      cluster.double.faults.expireWatches()
      const lists = cluster.double.requests.count({ verb: 'list', resource: 'pods' })
      const deleted = await handle.waitFor(({ deleted }) => (deleted ? true : undefined), 10_000)
      expect(deleted).toBe(true)
      expect(cluster.double.requests.count({ verb: 'list', resource: 'pods' })).toBeGreaterThan(lists)
    } finally {
      informer.close()
    }
  })

  it('fails the pods waiting on it, naming the permission, when the worker may not list pods', async () => {
    const store = randomUUID()
    cluster.double.faults.denyRbac({ verb: 'list', resource: 'pods' })
    const informer = new PodInformer(cluster.kube, 'default', store)
    try {
      const pod = await createPod(store)
      const handle = informer.track(pod.metadata?.name ?? '', pod, new AbortController().signal)
      const error = await handle
        .waitFor(() => undefined, 5000)
        .then(
          (value) => (value === TIMED_OUT ? new Error('timed out') : undefined),
          (e: unknown) => e as Error,
        )
      expect(error?.message).toMatch(/cannot watch pods in namespace default: forbidden.*Grant the worker/)
    } finally {
      cluster.double.faults.clear()
      informer.close()
    }
  })

  it('serves every pod of its namespace from one list and one watch', async () => {
    const store = randomUUID()
    cluster.double.requests.reset()
    const informer = new PodInformer(cluster.kube, 'default', store)
    try {
      const pods = await Promise.all(Array.from({ length: 5 }, () => createPod(store)))
      const handles = pods.map((p) => informer.track(p.metadata?.name ?? '', p, new AbortController().signal))
      const running = await Promise.all(
        handles.map((h) =>
          h.waitFor(({ pod }) => (pod.status?.phase === 'Running' ? true : undefined), 10_000),
        ),
      )
      expect(running).toEqual(pods.map(() => true))
      expect(informer.following).toBe(5)
      expect(cluster.double.requests.count({ verb: 'watch', resource: 'pods' })).toBe(1)
      expect(cluster.double.requests.count({ verb: 'list', resource: 'pods' })).toBe(1)
      for (const h of handles) h.stop()
      expect(informer.following).toBe(0)
    } finally {
      informer.close()
      await Promise.all(
        cluster.double.pods('default').map((p) =>
          cluster.kube.core.deleteNamespacedPod({
            name: p.metadata.name ?? '',
            namespace: 'default',
            gracePeriodSeconds: 0,
          }),
        ),
      )
    }
  })
})
