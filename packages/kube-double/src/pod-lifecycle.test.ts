import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, clientFor, isTerminal, node, podLog, waitForPod } from './__tests__/double-client.js'
import { nativeSidecarPod, runOncePod, simplePod, xcomMount, xcomVolume } from './__tests__/pod-bodies.js'
import { type KubeDouble, startKubeDouble } from './kube-double.js'

let double: KubeDouble
let api: ReturnType<typeof clientFor>['api']

beforeAll(async () => {
  double = await startKubeDouble({ imagePullBackOffMs: 50, missingImages: ['ghcr.io/acme/gone:1'] })
  ;({ api } = clientFor(double))
})
afterAll(async () => {
  await double.close()
})

const reasons = (name: string): string[] =>
  double
    .events('default')
    .filter((e) => e.involvedObject.name === name)
    .map((e) => e.reason)

describe('pod lifecycle', () => {
  it("holds the containers until a native sidecar's startup probe passes, as the kubelet does", async () => {
    // The sidecar makes its ready file only after a while; base records whether it was there.
    const body = nativeSidecarPod('probed-sidecar', {
      spec: { terminationGracePeriodSeconds: 5, volumes: [{ name: 'shared', emptyDir: {} }] },
      shared: { volumeMounts: [{ name: 'shared', mountPath: '/shared' }] },
      sidecar: {
        command: [
          'sh',
          '-c',
          'sleep 0.3; touch /shared/ready; trap "exit 0" TERM; while true; do sleep 0.05; done',
        ],
        startupProbe: {
          exec: { command: ['test', '-f', '/shared/ready'] },
          periodSeconds: 1,
          failureThreshold: 100,
        },
      },
      base: {
        command: ['sh', '-c', 'if [ -f /shared/ready ]; then echo after-probe; else echo before-probe; fi'],
      },
    })
    await api.createNamespacedPod({ namespace: 'default', body })
    const done = await waitForPod(api, 'probed-sidecar', isTerminal)
    expect(done.status?.phase).toBe('Succeeded')
    const log = await podLog(api, 'probed-sidecar', 'base')
    expect(log.trim()).toBe('after-probe')
  })

  it('a startup probe that never passes kills the sidecar and the containers never start', async () => {
    const body = nativeSidecarPod('never-ready', {
      sidecar: {
        command: ['sh', '-c', 'while true; do sleep 0.05; done'],
        startupProbe: { exec: { command: ['false'] }, failureThreshold: 3 },
      },
      base: { command: ['true'] },
    })
    await api.createNamespacedPod({ namespace: 'default', body })
    await waitForPod(api, 'never-ready', () => reasons('never-ready').includes('Unhealthy'))
    const pod = await waitForPod(api, 'never-ready', (p) =>
      Boolean(p.status?.initContainerStatuses?.[0]?.state?.terminated),
    )
    expect(pod.status?.containerStatuses?.[0]?.state?.running).toBeUndefined()
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toBeUndefined()
  })

  it('stops a native sidecar with SIGTERM after base exits; its output is readable through logs', async () => {
    const body = nativeSidecarPod('xcom-native', {
      spec: { terminationGracePeriodSeconds: 5, volumes: [xcomVolume] },
      shared: xcomMount,
      sidecar: {
        command: [
          'sh',
          '-c',
          'trap \'cat "$PODLINE_XCOM_PATH"; exit 0\' TERM; while true; do sleep 0.05; done',
        ],
      },
      base: { command: ['sh', '-c', 'sleep 0.2; echo \'{"rows": 7}\' > "$PODLINE_XCOM_PATH"'] },
    })
    await api.createNamespacedPod({ namespace: 'default', body })
    const running = await waitForPod(api, 'xcom-native', (p) => p.status?.phase === 'Running')
    expect(running.status?.initContainerStatuses?.[0]?.state?.running).toBeTruthy()
    const done = await waitForPod(api, 'xcom-native', isTerminal)
    expect(done.status?.phase).toBe('Succeeded')
    expect(done.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    })
    const log = await podLog(api, 'xcom-native', 'sidecar')
    expect(JSON.parse(log)).toEqual({ rows: 7 })
    expect(reasons('xcom-native')).toContain('Killing')
  })

  it('keeps a pod Running while a plain sidecar container runs', async () => {
    const body = runOncePod('plain-sidecar', {
      containers: [
        { name: 'base', image: 'busybox', command: ['true'] },
        { name: 'sidecar', image: 'busybox', command: ['sh', '-c', 'sleep 0.4'] },
      ],
    })
    await api.createNamespacedPod({ namespace: 'default', body })
    const mid = await waitForPod(api, 'plain-sidecar', (p) =>
      Boolean(p.status?.containerStatuses?.[0]?.state?.terminated),
    )
    expect(mid.status?.phase).toBe('Running')
    expect((await waitForPod(api, 'plain-sidecar', isTerminal)).status?.phase).toBe('Succeeded')
  })

  it('runs init containers in order and fails the pod when one fails', async () => {
    await api.createNamespacedPod({
      namespace: 'default',
      body: runOncePod('init-fail', {
        initContainers: [
          { name: 'first', image: 'busybox', command: ['true'] },
          { name: 'second', image: 'busybox', command: ['sh', '-c', 'exit 4'] },
        ],
        containers: [{ name: 'base', image: 'busybox', command: ['true'] }],
      }),
    })
    const pod = await waitForPod(api, 'init-fail', isTerminal)
    expect(pod.status?.phase).toBe('Failed')
    expect(pod.status?.initContainerStatuses?.map((s) => s.state?.terminated?.exitCode)).toEqual([0, 4])
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing')
  })

  it('leaves a pod whose nodeSelector matches no node Pending, as the scheduler does', async () => {
    await api.createNamespacedPod({
      namespace: 'default',
      body: simplePod('unschedulable', 'true', { nodeSelector: { 'kubernetes.io/os': 'windows' } }),
    })
    const pod = await waitForPod(api, 'unschedulable', (p) => Boolean(p.status?.conditions?.length))
    expect(pod.status?.phase).toBe('Pending')
    expect(pod.status?.conditions?.[0]).toMatchObject({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
    })
    const events = await api.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=unschedulable',
    })
    expect(events.items[0]?.reason).toBe('FailedScheduling')
    expect(events.items[0]?.message).toMatch(
      /^0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector\./,
    )
  })

  it('reports InvalidImageName, and ErrImagePull then ImagePullBackOff for missing images', async () => {
    await api.createNamespacedPod({
      namespace: 'default',
      body: {
        ...simplePod('bad-image', 'true'),
        spec: { containers: [{ name: 'base', image: 'BusyBox:1' }] },
      },
    })
    const invalid = await waitForPod(api, 'bad-image', (p) =>
      Boolean(p.status?.containerStatuses?.[0]?.state?.waiting?.message),
    )
    expect(invalid.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('InvalidImageName')
    expect(invalid.status?.phase).toBe('Pending')

    for (const [name, image] of [
      ['missing-tag', 'busybox:does-not-exist'],
      ['missing-listed', 'ghcr.io/acme/gone:1'],
    ] as const) {
      await api.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name }, spec: { containers: [{ name: 'base', image }] } },
      })
      const pulled = await waitForPod(api, name, (p) =>
        Boolean(p.status?.containerStatuses?.[0]?.state?.waiting?.reason?.startsWith('ErrImagePull')),
      )
      expect(pulled.status?.containerStatuses?.[0]?.state?.waiting?.message).toMatch(
        /^rpc error: code = NotFound/,
      )
      const backOff = await waitForPod(
        api,
        name,
        (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff',
      )
      expect(backOff.status?.containerStatuses?.[0]?.state?.waiting?.message).toBe(
        `Back-off pulling image "${image}"`,
      )
      expect(reasons(name)).toEqual(expect.arrayContaining(['Scheduled', 'Pulling', 'Failed', 'BackOff']))
    }
    const waitingLog = await apiError(api.readNamespacedPodLog({ name: 'missing-tag', namespace: 'default' }))
    expect(waitingLog.body.message).toBe(
      'container "base" in pod "missing-tag" is waiting to start: trying and failing to pull image',
    )
  })

  it('reports OOMKilled for a real memory hog over its limit', async () => {
    await api.createNamespacedPod({
      namespace: 'default',
      body: runOncePod('hog', {
        containers: [
          {
            name: 'base',
            image: 'node:20',
            command: [node, '-e', 'const a = []; setInterval(() => a.push(Buffer.alloc(16 << 20, 1)), 10)'],
            resources: { limits: { memory: '96Mi' } },
          },
        ],
      }),
    })
    const pod = await waitForPod(api, 'hog', isTerminal)
    expect(pod.status?.phase).toBe('Failed')
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    })
  })

  it('forces OOMKilled on a named pod', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: simplePod('forced-oom', 'sleep 30') })
    await waitForPod(api, 'forced-oom', (p) => p.status?.phase === 'Running')
    double.faults.oomKill('default', 'forced-oom')
    const pod = await waitForPod(api, 'forced-oom', isTerminal)
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    })
  })
})
