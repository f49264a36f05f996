import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { apiError, clientFor, waitForPod } from './__tests__/double-client.js'
import { simplePod } from './__tests__/pod-bodies.js'
import { type KubeDouble, startKubeDouble } from './kube-double.js'

let double: KubeDouble
let api: ReturnType<typeof clientFor>['api']

beforeAll(async () => {
  double = await startKubeDouble()
  ;({ api } = clientFor(double))
})
afterEach(() => double.faults.clear())
afterAll(async () => {
  await double.close()
})

describe('fault injection', () => {
  it('fails the next create with 500, then succeeds', async () => {
    double.faults.failNext({ verb: 'create', resource: 'pods', status: 500 })
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: simplePod('retry-me', 'true') }),
    )
    expect(error.code).toBe(500)
    expect(error.body).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 })
    const pod = await api.createNamespacedPod({ namespace: 'default', body: simplePod('retry-me', 'true') })
    expect(pod.metadata?.name).toBe('retry-me')
  })

  it('throttles with 429 and Retry-After', async () => {
    double.faults.failNext({ verb: 'get', resource: 'pods', status: 429, retryAfterSeconds: 2 })
    const error = await apiError(api.readNamespacedPod({ name: 'retry-me', namespace: 'default' }))
    expect(error.code).toBe(429)
    expect(error.headers['retry-after']).toBe('2')
    expect(error.body).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 2 } })
  })

  it('rejects containers without limits under a ResourceQuota with the real 403 message', async () => {
    double.faults.addResourceQuota({
      namespace: 'quota',
      name: 'compute-resources',
      hard: ['limits.cpu', 'limits.memory'],
    })
    const body = simplePod('no-limits', 'true', {
      initContainers: [
        {
          name: 'sidecar',
          image: 'alpine',
          restartPolicy: 'Always',
          command: ['sleep', '1'],
          resources: { limits: { cpu: '100m' } },
        },
      ],
    })
    const error = await apiError(api.createNamespacedPod({ namespace: 'quota', body }))
    expect(error.code).toBe(403)
    expect(error.body).toMatchObject({
      reason: 'Forbidden',
      message:
        'pods "no-limits" is forbidden: failed quota: compute-resources: must specify limits.cpu for: base; limits.memory for: base,sidecar',
    })
  })

  it('denies by RBAC with the API server wording', async () => {
    double.faults.denyRbac({ verb: 'create', resource: 'pods', user: 'system:serviceaccount:podline:worker' })
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'jobs', body: simplePod('denied', 'true') }),
    )
    expect(error.code).toBe(403)
    expect(error.body.message).toBe(
      'pods is forbidden: User "system:serviceaccount:podline:worker" cannot create resource "pods" in API group "" in the namespace "jobs"',
    )
  })

  it('evicts a running pod: Failed, reason Evicted, processes gone', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: simplePod('evict-me', 'sleep 30') })
    await waitForPod(api, 'evict-me', (p) => p.status?.phase === 'Running')
    await double.faults.evict('default', 'evict-me')
    const pod = await api.readNamespacedPod({ name: 'evict-me', namespace: 'default' })
    expect(pod.status).toMatchObject({ phase: 'Failed', reason: 'Evicted' })
    expect(pod.status?.message).toMatch(/^The node was low on resource: memory/)
    expect(pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget')?.reason).toBe(
      'TerminationByKubelet',
    )
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(137)
  })

  it('loses the node: pods end Failed with reason NodeLost and are deleted; new pods stay unschedulable', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: simplePod('on-lost-node', 'sleep 30') })
    await waitForPod(api, 'on-lost-node', (p) => p.status?.phase === 'Running')
    await double.faults.loseNode({ deletePods: false })
    const pod = await api.readNamespacedPod({ name: 'on-lost-node', namespace: 'default' })
    expect(pod.status).toMatchObject({ phase: 'Failed', reason: 'NodeLost' })
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe('ContainerStatusUnknown')
    await api.createNamespacedPod({ namespace: 'default', body: simplePod('after-loss', 'true') })
    const pending = await waitForPod(api, 'after-loss', (p) => Boolean(p.status?.conditions?.length))
    expect(pending.status?.conditions?.[0]?.message).toMatch(
      /untolerated taint \{node.kubernetes.io\/unreachable: \}/,
    )
    double.faults.restoreNode()
    await waitForPod(api, 'after-loss', (p) => p.status?.phase === 'Succeeded')
  })
})
