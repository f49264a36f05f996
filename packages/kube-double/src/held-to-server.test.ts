import { get } from 'node:http'
import { Writable } from 'node:stream'
import { Log, type V1Pod } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, clientFor, isTerminal, podLog, waitForPod } from './__tests__/double-client.js'
import { simplePod } from './__tests__/pod-bodies.js'
import { type KubeDouble, startKubeDouble } from './kube-double.js'

// Behaviours in which the double disagreed with a real API server and kubelet (1.34, the cluster
// suite's cluster of infra/cluster), now as the server does them. Each expectation is what the real
// server answered or reported there; the scenario of infra/kind/e2e that showed it is named.

let double: KubeDouble
let api: ReturnType<typeof clientFor>['api']

beforeAll(async () => {
  double = await startKubeDouble()
  ;({ api } = clientFor(double))
})
afterAll(async () => {
  await double.close()
})

const conditions = (pod: V1Pod) =>
  Object.fromEntries(
    (pod.status?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason ?? ''}`.trim()]),
  )

/** A watch of one pod: every state it passed through, until it was deleted. */
async function watchUntilDeleted(name: string): Promise<V1Pod[]> {
  const { kc } = clientFor(double)
  const k8s = await import('@kubernetes/client-node')
  const seen: V1Pod[] = []
  await new Promise<void>((resolve, reject) => {
    void new k8s.Watch(kc).watch(
      '/api/v1/namespaces/default/pods',
      { fieldSelector: `metadata.name=${name}` },
      (type, pod: V1Pod) => {
        seen.push(pod)
        if (type === 'DELETED') resolve()
      },
      (error) => (error ? reject(error) : undefined),
    )
  })
  return seen
}

describe('the double held to the real server', () => {
  // failures.test.ts, "fails a pod past its activeDeadlineSeconds".
  it('fails a pod past its activeDeadlineSeconds once its containers have stopped', async () => {
    const body = simplePod('overrun', 'trap "echo term; exit 7" TERM; while true; do sleep 0.05; done', {
      activeDeadlineSeconds: 1,
      terminationGracePeriodSeconds: 5,
    })
    await api.createNamespacedPod({ namespace: 'default', body })
    const ended = await waitForPod(api, 'overrun', isTerminal)
    expect(ended.status?.phase).toBe('Failed')
    expect(ended.status?.reason).toBe('DeadlineExceeded')
    expect(ended.status?.message).toBe('Pod was active on the node longer than the specified deadline')
    expect(ended.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(7)
    expect(conditions(ended)).toMatchObject({ Ready: 'False PodFailed', ContainersReady: 'False PodFailed' })
    const events = double.events('default').filter((e) => e.involvedObject.name === 'overrun')
    expect(events.map((e) => e.reason)).toContain('DeadlineExceeded')
  })

  it('publishes the deadline’s reason with the terminal phase, never a Failed pod without it', async () => {
    // It takes half a second to stop: the double must report it running, not ready, meanwhile.
    const body = simplePod(
      'overrun-watched',
      'trap "sleep 0.5; exit 0" TERM; while true; do sleep 0.05; done',
      {
        activeDeadlineSeconds: 1,
        terminationGracePeriodSeconds: 5,
      },
    )
    await api.createNamespacedPod({ namespace: 'default', body })
    const states: V1Pod[] = []
    const done = (async () => {
      for (;;) {
        const pod = await api.readNamespacedPod({ name: 'overrun-watched', namespace: 'default' })
        states.push(pod)
        if (isTerminal(pod)) return
        await new Promise((r) => setTimeout(r, 10))
      }
    })()
    await done
    for (const pod of states.filter(isTerminal)) expect(pod.status?.reason).toBe('DeadlineExceeded')
    // Between the deadline and the end: still Running, but no longer ready.
    const between = states.filter(
      (p) => p.status?.phase === 'Running' && conditions(p).Ready === 'False PodFailed',
    )
    expect(between.length).toBeGreaterThan(0)
  })

  // failures.test.ts, "retries a pod evicted through the Eviction API".
  it('serves the Eviction API: DisruptionTarget, then a graceful deletion that ends Failed', async () => {
    await api.createNamespacedPod({
      namespace: 'default',
      body: simplePod('evictee', 'exec sleep 60', { terminationGracePeriodSeconds: 1 }),
    })
    await waitForPod(api, 'evictee', (p) => p.status?.phase === 'Running')
    const states = watchUntilDeleted('evictee')
    await api.createNamespacedPodEviction({
      name: 'evictee',
      namespace: 'default',
      body: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'evictee', namespace: 'default' },
      },
    })
    const seen = await states
    const disrupted = seen.find((p) => conditions(p).DisruptionTarget)
    expect(disrupted?.status?.conditions?.find((c) => c.type === 'DisruptionTarget')).toMatchObject({
      status: 'True',
      reason: 'EvictionByEvictionAPI',
      message: 'Eviction API: evicting',
    })
    expect(seen.find((p) => p.metadata?.deletionTimestamp)?.metadata?.deletionGracePeriodSeconds).toBe(1)
    const last = seen.at(-1)
    expect(last?.status?.phase).toBe('Failed')
    expect(conditions(last as V1Pod)).toMatchObject({ Ready: 'False PodFailed' })
    expect(double.requests.count({ verb: 'create', resource: 'pods/eviction' })).toBe(1)
  })

  it('answers an eviction of a pod that does not exist with 404', async () => {
    const refused = await apiError(
      api.createNamespacedPodEviction({
        name: 'nobody',
        namespace: 'default',
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: 'nobody', namespace: 'default' },
        },
      }),
    )
    expect(refused.code).toBe(404)
    expect(refused.body.message).toBe('pods "nobody" not found')
  })

  it('reports a failed pod not ready with reason PodFailed, and a succeeded one PodCompleted', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: simplePod('exits-3', 'exit 3') })
    await api.createNamespacedPod({ namespace: 'default', body: simplePod('exits-0', 'exit 0') })
    const failed = await waitForPod(api, 'exits-3', isTerminal)
    const succeeded = await waitForPod(api, 'exits-0', isTerminal)
    expect(conditions(failed)).toMatchObject({
      Initialized: 'True',
      Ready: 'False PodFailed',
      ContainersReady: 'False PodFailed',
    })
    expect(conditions(succeeded)).toMatchObject({
      Initialized: 'True PodCompleted',
      Ready: 'False PodCompleted',
      ContainersReady: 'False PodCompleted',
    })
  })

  // logs.test.ts, "stores every line of a log the kubelet rotates while it is streamed".
  it('keeps a follow stream going across a rotation of the log; dropLogStreams is what cuts it', async () => {
    await api.createNamespacedPod({
      namespace: 'default',
      body: simplePod(
        'rotating',
        'i=1; while [ $i -le 30 ]; do echo line-$i; i=$((i + 1)); sleep 0.05; done; sleep 0.3',
      ),
    })
    await waitForPod(api, 'rotating', (p) => p.status?.phase === 'Running')
    const { kc } = clientFor(double)
    let text = ''
    let ended: (how: string) => void = () => {}
    const end = new Promise<string>((resolve) => {
      ended = resolve
    })
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        text += chunk.toString()
        if (text.includes('line-10\n')) double.faults.rotateLog('default', 'rotating', 'base')
        callback()
      },
      final: (callback) => {
        ended('clean')
        callback()
      },
    })
    await new Log(kc).log('default', 'rotating', 'base', sink, { follow: true })
    expect(await end).toBe('clean')
    expect(text.trim().split('\n')).toEqual(Array.from({ length: 30 }, (_, i) => `line-${i + 1}`))
    // A read after the rotation serves the new file only.
    const now = await podLog(api, 'rotating', 'base')
    expect(now.split('\n')[0]).not.toBe('line-1')

    await api.createNamespacedPod({
      namespace: 'default',
      body: simplePod('cut', 'echo first; sleep 30'),
    })
    await waitForPod(api, 'cut', (p) => p.status?.phase === 'Running')
    // Raw HTTP: whether the response completed is what tells a cut stream from an ended one.
    const complete = await new Promise<boolean>((resolve, reject) => {
      get(`${double.url}/api/v1/namespaces/default/pods/cut/log?container=base&follow=true`, (response) => {
        response.once('data', () => double.faults.dropLogStreams())
        response.on('error', () => {})
        response.once('close', () => resolve(response.complete))
      }).on('error', reject)
    })
    expect(complete, 'the stream was cut, not ended').toBe(false)
    expect(double.pods('default').find((p) => p.metadata.name === 'cut')?.status.phase).toBe('Running')
  })
})
