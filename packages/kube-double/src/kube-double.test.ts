import { PassThrough } from 'node:stream'
import {
  Exec,
  Log,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  type V1Status,
  Watch,
} from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiError, clientFor, isTerminal, podLog, waitForPod } from './__tests__/double-client.js'
import { runOncePod, simplePod, xcomMount, xcomVolume } from './__tests__/pod-bodies.js'
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
    const text = await podLog(api, 'hello', 'base')
    expect(text).toBe('hello\nfrom-stderr\n')
    const wrong = await apiError(podLog(api, 'hello', 'nope'))
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
    const seen: WatchEvent[] = []
    const controller = await new Watch(kc).watch(
      '/api/v1/namespaces/watched/pods',
      { resourceVersion: from, allowWatchBookmarks: true },
      (type, obj: V1Pod) => seen.push({ type, phase: obj.status?.phase, rv: obj.metadata?.resourceVersion }),
      () => {},
    )
    await api.createNamespacedPod({ namespace: 'watched', body: simplePod('w1', 'echo done') })
    await waitForPod(api, 'w1', isTerminal, 'watched')
    await api.deleteNamespacedPod({ name: 'w1', namespace: 'watched' })
    // Bookmarks come every bookmarkIntervalMs; the first one may come before or after DELETED.
    await until(
      () => seen.some((e) => e.type === 'DELETED') && seen.some((e) => e.type === 'BOOKMARK'),
      'the DELETED event and a BOOKMARK',
    )
    controller.abort()
    const types = seen.map((e) => e.type)
    expect(types.filter((t) => t !== 'BOOKMARK')[0]).toBe('ADDED')
    expect(types).toContain('MODIFIED')
    expect(seen.some((e) => e.type === 'MODIFIED' && e.phase === 'Running')).toBe(true)
    expect(seen.some((e) => e.phase === 'Succeeded')).toBe(true)

    // Resuming from the middle replays exactly what came after, in order.
    const middle = seen.find((e) => e.type === 'MODIFIED')?.rv ?? '0'
    const after = seen.filter((e) => e.type !== 'BOOKMARK' && Number(e.rv) > Number(middle))
    expect(after.length).toBeGreaterThan(0)
    const replayed = await collectWatch(kc, 'watched', middle, (events) => events.length >= after.length)
    expect(replayed.map((e) => `${e.type} ${e.rv}`)).toEqual(after.map((e) => `${e.type} ${e.rv}`))

    double.faults.expireWatches()
    // The server ends a watch after its ERROR event, so waiting for the end shows nothing else follows.
    const expired = await collectWatch(kc, 'watched', middle, () => false)
    expect(expired).toHaveLength(1)
    expect(expired[0]?.type).toBe('ERROR')
    expect(expired[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' })
  })

  it('ends open watches when told to drop them', async () => {
    // A pod of its own, so the watch's first event (the current pods) proves it is open.
    await api.createNamespacedPod({ namespace: 'dropped', body: simplePod('d1', 'sleep 30') })
    let events = 0
    const done = new Promise<unknown>((resolve) => {
      void new Watch(kc).watch('/api/v1/namespaces/dropped/pods', {}, () => events++, resolve)
    })
    await until(() => events > 0, 'the watch to deliver the current pod')
    double.faults.dropWatches()
    await done
    await api.deleteNamespacedPod({ name: 'd1', namespace: 'dropped', gracePeriodSeconds: 0 })
  })

  it('execs in a running container over the v4 channel protocol and reads a file from an emptyDir', async () => {
    const body = runOncePod('exec-pod', {
      volumes: [xcomVolume],
      containers: [
        {
          name: 'base',
          image: 'busybox:1.36',
          command: ['sh', '-c', 'echo \'{"n": 1}\' > "$PODLINE_XCOM_PATH"; sleep 30'],
          ...xcomMount,
        },
      ],
    })
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

  it('merge-patches labels and annotations, refuses other fields (422) and other patch types (415)', async () => {
    await api.createNamespacedPod({ namespace: 'patched', body: simplePod('p1', 'true') })
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    const patched = await api.patchNamespacedPod(
      { name: 'p1', namespace: 'patched', body: { metadata: { labels: { kept: 'true', app: null } } } },
      merge,
    )
    expect(patched.metadata?.labels).toEqual({ name: 'p1', kept: 'true' })
    const stored = await api.readNamespacedPod({ name: 'p1', namespace: 'patched' })
    expect(stored.metadata?.labels).toEqual({ name: 'p1', kept: 'true' })
    expect(Number(stored.metadata?.resourceVersion)).toBeGreaterThan(0)
    const spec = await apiError(
      api.patchNamespacedPod(
        { name: 'p1', namespace: 'patched', body: { spec: { restartPolicy: 'Always' } } },
        merge,
      ),
    )
    expect(spec.code).toBe(422)
    const jsonPatch = await apiError(
      api.patchNamespacedPod(
        { name: 'p1', namespace: 'patched', body: [{ op: 'add', path: '/metadata/labels/x', value: 'y' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    )
    expect(jsonPatch.code).toBe(415)
    const missing = await apiError(
      api.patchNamespacedPod({ name: 'nope', namespace: 'patched', body: { metadata: {} } }, merge),
    )
    expect(missing.code).toBe(404)
  })

  it('counts requests by verb and resource', async () => {
    double.requests.reset()
    await api.createNamespacedPod({ namespace: 'counted', body: simplePod('c1', 'echo counted') })
    await waitForPod(api, 'c1', isTerminal, 'counted')
    const gets = double.requests.count({ verb: 'get', resource: 'pods' })
    expect(gets).toBeGreaterThan(0)
    await api.listNamespacedPod({ namespace: 'counted' })
    await api.readNamespacedPodLog({ name: 'c1', namespace: 'counted' })
    await collectWatch(kc, 'counted', '0', (events) => events.length >= 1)
    expect(double.requests.snapshot()).toEqual({
      'create pods': 1,
      'get pods': gets,
      'list pods': 1,
      'get pods/log': 1,
      'watch pods': 1,
    })
    expect(double.requests.total).toBe(gets + 4)
    double.requests.reset()
    expect(double.requests.total).toBe(0)
  })
})

interface WatchEvent {
  type: string
  phase?: string | undefined
  rv?: string | undefined
}

/** Resolves once `condition` holds; fails, naming `what`, if it still does not after `deadlineMs`. */
async function until(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Watches from `resourceVersion` until `enough` holds for the events so far (or the watch ends). */
async function collectWatch(
  kc: ReturnType<typeof clientFor>['kc'],
  namespace: string,
  resourceVersion: string,
  enough: (events: Array<{ type: string; rv?: string; object: unknown }>) => boolean,
): Promise<Array<{ type: string; rv?: string; object: unknown }>> {
  const events: Array<{ type: string; rv?: string; object: unknown }> = []
  let ended = false
  const controller = await new Watch(kc).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { resourceVersion },
    (type, object: V1Pod) => events.push({ type, rv: object.metadata?.resourceVersion, object }),
    () => {
      ended = true
    },
  )
  await until(() => ended || enough(events), `watch events from ${resourceVersion}`)
  controller.abort()
  return events
}
