import { PassThrough } from 'node:stream'
import { Exec, Log, type V1Pod, type V1Status, Watch } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, clientFor, isTerminal, simplePod, waitForPod } from './__tests__/double-client.js'
import { type KubeDouble, startKubeDouble } from './kube-double.js'

let double: KubeDouble
let api: ReturnType<typeof clientFor>['api']
let kc: ReturnType<typeof clientFor>['kc']

beforeAll(async () => {
  double = await startKubeDouble({ bookmarkIntervalMs: 50 })
  ;({ api, kc } = clientFor(double))
})
afterAll(async () => {
  await double.close()
})

describe('pods over HTTP with client-node', () => {
  it('creates, gets and lists pods, with the API defaults and selectors', async () => {
    const created = await api.createNamespacedPod({ namespace: 'default', body: simplePod('crud-a', 'true') })
    expect(created.metadata?.uid).toBeTruthy()
    expect(created.spec?.terminationGracePeriodSeconds).toBe(30)
    expect(created.status?.phase).toBe('Pending')
    await api.createNamespacedPod({ namespace: 'other', body: simplePod('crud-b', 'true') })
    const got = await api.readNamespacedPod({ name: 'crud-a', namespace: 'default' })
    expect(got.metadata?.name).toBe('crud-a')
    const byLabel = await api.listNamespacedPod({
      namespace: 'default',
      labelSelector: 'app=test,name in (crud-a, x)',
    })
    expect(byLabel.items.map((p) => p.metadata?.name)).toEqual(['crud-a'])
    const byField = await api.listPodForAllNamespaces({ fieldSelector: 'metadata.name=crud-b' })
    expect(byField.items.map((p) => p.metadata?.namespace)).toEqual(['other'])
    const missing = await apiError(api.readNamespacedPod({ name: 'nope', namespace: 'default' }))
    expect(missing.code).toBe(404)
    expect(missing.body).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'pods "nope" not found',
    })
  })

  it('answers a duplicate create with 409 AlreadyExists', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: simplePod('dup', 'true') })
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: simplePod('dup', 'true') }),
    )
    expect(error.code).toBe(409)
    expect(error.body).toMatchObject({
      reason: 'AlreadyExists',
      message: 'pods "dup" already exists',
      details: { name: 'dup', kind: 'pods' },
    })
  })

  it('rejects an invalid pod with the 422 the API server sends', async () => {
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: simplePod('Bad_Name', 'true') }),
    )
    expect(error.code).toBe(422)
    expect(error.body.reason).toBe('Invalid')
    expect(error.body.message).toMatch(
      /^Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    )
  })

  it('runs a pod to Succeeded with accurate statuses and serves its logs', async () => {
    await api.createNamespacedPod({
      namespace: 'default',
      body: simplePod('hello', 'echo hello; echo from-stderr >&2'),
    })
    const pod = await waitForPod(api, 'hello', isTerminal)
    expect(pod.status?.phase).toBe('Succeeded')
    expect(pod.spec?.nodeName).toBe('double-node')
    expect(pod.status?.podIP).toBeTruthy()
    const base = pod.status?.containerStatuses?.[0]
    expect(base?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' })
    expect(base?.imageID).toMatch(/^docker.io\/library\/busybox@sha256:/)
    const conditions = Object.fromEntries((pod.status?.conditions ?? []).map((c) => [c.type, c.status]))
    expect(conditions).toMatchObject({
      PodScheduled: 'True',
      Initialized: 'True',
      Ready: 'False',
      ContainersReady: 'False',
    })
    const text = await api.readNamespacedPodLog({ name: 'hello', namespace: 'default', container: 'base' })
    expect(text).toBe('hello\nfrom-stderr\n')
    const wrong = await apiError(
      api.readNamespacedPodLog({ name: 'hello', namespace: 'default', container: 'nope' }),
    )
    expect(wrong.code).toBe(400)
    expect(wrong.body.message).toBe('container nope is not valid for pod hello')
  })

  it('follows logs until the container ends', async () => {
    await api.createNamespacedPod({
      namespace: 'default',
      body: simplePod('follow', 'for i in 1 2 3; do echo line-$i; sleep 0.1; done; exit 2'),
    })
    await waitForPod(api, 'follow', (p) =>
      Boolean(p.status?.containerStatuses?.[0]?.state?.running || isTerminal(p)),
    )
    const stream = new PassThrough()
    let text = ''
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString()
    })
    const ended = new Promise((resolve) => stream.on('end', resolve))
    await new Log(kc).log('default', 'follow', 'base', stream, { follow: true })
    await ended
    expect(text).toBe('line-1\nline-2\nline-3\n')
    const pod = await waitForPod(api, 'follow', isTerminal)
    expect(pod.status?.phase).toBe('Failed')
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 2,
      reason: 'Error',
    })
    const tail = await api.readNamespacedPodLog({ name: 'follow', namespace: 'default', tailLines: 1 })
    expect(tail).toBe('line-3\n')
  })

  it('watches with resume, bookmarks and a 410 once the history is compacted', async () => {
    const list = await api.listNamespacedPod({ namespace: 'watched' })
    const from = list.metadata?.resourceVersion ?? '0'
    const seen: Array<{ type: string; phase?: string; rv?: string }> = []
    const watch = new Watch(kc)
    let finished!: () => void
    const phaseReached = new Promise<void>((r) => {
      finished = r
    })
    const controller = await watch.watch(
      '/api/v1/namespaces/watched/pods',
      { resourceVersion: from, allowWatchBookmarks: true },
      (type, obj: V1Pod) => {
        seen.push({ type, phase: obj.status?.phase, rv: obj.metadata?.resourceVersion })
        if (type === 'DELETED') finished()
      },
      () => {},
    )
    await api.createNamespacedPod({ namespace: 'watched', body: simplePod('w1', 'echo done') })
    await waitForPod(api, 'w1', isTerminal, 'watched')
    await api.deleteNamespacedPod({ name: 'w1', namespace: 'watched' })
    await phaseReached
    await new Promise((r) => setTimeout(r, 120))
    controller.abort()
    const types = seen.map((e) => e.type)
    expect(types.filter((t) => t !== 'BOOKMARK')[0]).toBe('ADDED')
    expect(types).toContain('MODIFIED')
    expect(types).toContain('BOOKMARK')
    expect(seen.some((e) => e.type === 'MODIFIED' && e.phase === 'Running')).toBe(true)
    expect(seen.some((e) => e.phase === 'Succeeded')).toBe(true)

    // Resuming from the middle replays exactly what came after.
    const middle = seen.find((e) => e.type === 'MODIFIED')?.rv ?? '0'
    const replayed = await collectWatch(kc, 'watched', middle, 100)
    expect(replayed.length).toBeGreaterThan(0)
    expect(replayed.every((e) => Number(e.rv) > Number(middle) || e.type === 'ERROR')).toBe(true)

    double.faults.expireWatches()
    const expired = await collectWatch(kc, 'watched', middle, 100)
    expect(expired).toHaveLength(1)
    expect(expired[0]?.type).toBe('ERROR')
    expect(expired[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' })
  })

  it('ends open watches when told to drop them', async () => {
    const watch = new Watch(kc)
    const done = new Promise<unknown>((resolve) => {
      void watch.watch('/api/v1/namespaces/default/pods', {}, () => {}, resolve)
    })
    await new Promise((r) => setTimeout(r, 50))
    double.faults.dropWatches()
    await done
  })

  it('execs in a running container over the v4 channel protocol and reads a file from an emptyDir', async () => {
    const body: V1Pod = {
      metadata: { name: 'exec-pod' },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: 'xcom', emptyDir: {} }],
        containers: [
          {
            name: 'base',
            image: 'busybox:1.36',
            command: ['sh', '-c', 'echo \'{"n": 1}\' > "$PODLINE_XCOM_PATH"; sleep 30'],
            env: [{ name: 'PODLINE_XCOM_PATH', value: '/airflow/xcom/return.json' }],
            volumeMounts: [{ name: 'xcom', mountPath: '/airflow/xcom' }],
          },
        ],
      },
    }
    await api.createNamespacedPod({ namespace: 'default', body })
    await waitForPod(api, 'exec-pod', (p) => p.status?.phase === 'Running')
    const run = async (command: string[]): Promise<{ out: string; status: V1Status }> => {
      const stdout = new PassThrough()
      let out = ''
      stdout.on('data', (c: Buffer) => {
        out += c.toString()
      })
      const status = await new Promise<V1Status>((resolve, reject) => {
        new Exec(kc)
          .exec('default', 'exec-pod', 'base', command, stdout, new PassThrough(), null, false, resolve)
          .catch(reject)
      })
      return { out, status }
    }
    // Without bind mounts the file is reached through the rewritten PODLINE_XCOM_PATH.
    const path = double.bindMounts ? '/airflow/xcom/return.json' : '"$PODLINE_XCOM_PATH"'
    let result = await run(['sh', '-c', `cat ${path}`])
    for (let i = 0; i < 40 && result.out === ''; i++) {
      await new Promise((r) => setTimeout(r, 25))
      result = await run(['sh', '-c', `cat ${path}`])
    }
    expect(JSON.parse(result.out)).toEqual({ n: 1 })
    expect(result.status.status).toBe('Success')
    const failed = await run(['sh', '-c', 'exit 3'])
    expect(failed.status).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    })
    expect(double.requests.count({ verb: 'create', resource: 'pods/exec' })).toBeGreaterThanOrEqual(2)

    // Delete kills the processes: SIGTERM, the pod gets deletionTimestamp, then DELETED.
    const deleted = await api.deleteNamespacedPod({
      name: 'exec-pod',
      namespace: 'default',
      gracePeriodSeconds: 1,
    })
    expect(deleted.metadata?.deletionTimestamp).toBeTruthy()
    for (let i = 0; i < 200 && double.pods('default').some((p) => p.metadata.name === 'exec-pod'); i++) {
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(double.pods('default').some((p) => p.metadata.name === 'exec-pod')).toBe(false)
  })

  it('counts requests by verb and resource', () => {
    expect(double.requests.count({ verb: 'create', resource: 'pods' })).toBeGreaterThan(3)
    expect(double.requests.count({ verb: 'watch' })).toBeGreaterThan(0)
    expect(double.requests.snapshot()['get pods/log']).toBeGreaterThan(0)
    double.requests.reset()
    expect(double.requests.total).toBe(0)
  })
})

async function collectWatch(
  kc: ReturnType<typeof clientFor>['kc'],
  namespace: string,
  resourceVersion: string,
  ms: number,
): Promise<Array<{ type: string; rv?: string; object: unknown }>> {
  const events: Array<{ type: string; rv?: string; object: unknown }> = []
  const controller = await new Watch(kc).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { resourceVersion },
    (type, object: V1Pod) => events.push({ type, rv: object.metadata?.resourceVersion, object }),
    () => {},
  )
  await new Promise((r) => setTimeout(r, ms))
  controller.abort()
  return events
}
