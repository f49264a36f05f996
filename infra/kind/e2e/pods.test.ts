import { openStore, runLocal, taskXcoms } from '@podline/runner'
import { type AnyPipeline, type PodSpec, pipeline, type RunOutputsOf } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { clusterOf, probeCluster, title, whereItRuns } from './support/cluster.js'
import { createNamespace, deleteNamespace, requireLimitsQuota } from './support/namespace.js'
import { runStore } from './support/run.js'
import { useScenarioNamespace } from './support/scenario-namespace.js'

// The pod scenarios of the runner's tests against the in-repo double, here on a real cluster (and,
// in `npm test`, on the double itself).

const probe = await probeCluster({ database: true })
const SHELL = probe.ok ? probe.cluster.shellImage : ''
const SMALL: PodSpec['resources'] = { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } }

describe.skipIf(!probe.ok)(title(`pod tasks ${whereItRuns(probe)}`, probe), () => {
  const place = useScenarioNamespace(probe, 'podline-e2e-pods')

  /** runLocal on the embedded store with pods on the e2e cluster, in `ns` (default: this file's). */
  function run<P extends AnyPipeline>(p: P, ns = place.namespace): Promise<RunOutputsOf<P>> {
    const cluster = clusterOf(probe)
    const any: AnyPipeline = p
    return runLocal(
      any,
      {},
      {
        ...runStore(cluster, place.dataDir, p.name),
        runtime: 'kubernetes',
        kube: { kubeconfig: cluster.kubeconfig, context: cluster.context, namespace: ns },
        // Tasks that name no sidecar image get the shell image, which the cluster has.
        sidecarImage: cluster.shellImage,
      },
    ) as Promise<RunOutputsOf<P>>
  }

  const SIDECARS: [string, { image?: string; mode?: 'native' | 'exec' }][] = [
    [`native sidecar (${SHELL}, inline script)`, {}],
    ['exec-mode sidecar', { mode: 'exec' }],
  ]
  const ourImage = probe.ok ? probe.cluster.sidecarImage : undefined
  if (ourImage) SIDECARS.push([`native sidecar (${ourImage})`, { image: ourImage }])

  it.each(SIDECARS)('XCom round trip through the %s', async (_name, sidecar) => {
    const p = pipeline('e2e-xcom')
      .pod(
        'produce',
        { output: z.object({ key1: z.string(), key2: z.number() }), sidecar },
        {
          image: SHELL,
          command: ['sh', '-c', `printf '{"key1":"value1","key2":42}' > /airflow/xcom/return.json`],
          resources: SMALL,
        },
      )
      .task('consume', { needs: ['produce'] }, async ({ produce }) => ({ got: produce.key1 }))
    const outputs = await run(p)
    expect(outputs.produce).toEqual({ key1: 'value1', key2: 42 })
    expect(outputs.consume).toEqual({ got: 'value1' })
  })

  it('stores pod_name, pod_namespace and return_value; an empty or missing return.json gives no return_value', async () => {
    const cluster = clusterOf(probe)
    const pod = (script: string): PodSpec => ({
      image: SHELL,
      command: ['sh', '-c', script],
      resources: SMALL,
    })
    const p = pipeline('e2e-xcom-keys')
      .pod('full', {}, pod(`printf '[1,2]' > /airflow/xcom/return.json`))
      .pod('empty', {}, pod(': > /airflow/xcom/return.json'))
      .pod('missing', {}, pod('echo nothing to return'))
    const store = await openStore(runStore(cluster, place.dataDir, p.name))
    try {
      let runId = ''
      const outputs = await runLocal(
        p,
        {},
        {
          database: store.database,
          onRun: (id) => {
            runId = id
          },
          runtime: 'kubernetes',
          kube: { kubeconfig: cluster.kubeconfig, context: cluster.context, namespace: place.namespace },
          sidecarImage: cluster.shellImage,
        },
      )
      expect(outputs).toEqual({ full: [1, 2] })
      for (const task of ['full', 'empty', 'missing']) {
        const xcoms = Object.fromEntries(
          (await taskXcoms(store.database, runId, task)).map((x) => [x.key, x.value]),
        )
        expect(xcoms.pod_namespace, task).toBe(place.namespace)
        expect(String(xcoms.pod_name), task).toMatch(new RegExp(`^e2e-xcom-keys-${task}-a1-`))
        expect('return_value' in xcoms, task).toBe(task === 'full')
      }
    } finally {
      await store.close()
    }
  })

  /** A one-pod pipeline whose pod runs `script` (which writes its return.json). */
  const writing = (name: string, script: string) =>
    pipeline(name).pod('produce', {}, { image: SHELL, command: ['sh', '-c', script], resources: SMALL })

  it('fails a pod whose return.json is not JSON, naming the position and the first bytes', async () => {
    const p = writing('e2e-xcom-invalid', `echo '{key1: v}' > /airflow/xcom/return.json`)
    await expect(run(p)).rejects.toThrow(/not valid JSON \(.*position 1.*\); it starts with "\{key1: v\}\\n"/)
  })

  it('fails a pod whose return.json is cut short, saying it looks truncated and how to write it whole', async () => {
    // The words tests/hostile/pod-result-file.test.ts holds the process runtime and the double to.
    const p = writing('e2e-xcom-truncated', `printf '{"rows": [1, 2, 3' > /airflow/xcom/return.json`)
    await expect(run(p)).rejects.toThrow(
      /is not valid JSON: it ends before the value does \(.*\), so the file looks truncated: written in part, or its writer died before it finished\. It reads "\{\\"rows\\": \[1, 2, 3"\. Let the writer finish before the container exits: .* rename it over \$PODLINE_XCOM_PATH$/,
    )
  })

  it('fails fast on an image that cannot be pulled', async () => {
    // A schedule timeout longer than the test's: only the pull-failure detection can end it in time.
    const p = pipeline('e2e-bad-image').pod(
      'pull',
      { scheduleTimeout: '30m' },
      { image: probe.ok ? probe.cluster.absentImage : '', resources: SMALL },
    )
    await expect(run(p)).rejects.toThrow(/ImagePullBackOff|ErrImagePull/)
  })

  it('reports OOMKilled for a container over its memory limit', async () => {
    const p = pipeline('e2e-oom').pod(
      'hog',
      {},
      {
        image: SHELL,
        // The shell itself holds 200 MB: the container's own process must be the one over the
        // limit (a killed child in a pipeline would leave the shell exiting 0).
        command: ['sh', '-c', 'a=$(head -c 200000000 /dev/zero | tr "\\0" x); echo "$a" | wc -c'],
        resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '32Mi' } },
      },
    )
    await expect(run(p)).rejects.toThrow(/OOMKilled/)
  })

  it('reports the exit code of a failing container and its last log lines', async () => {
    // 25 numbered lines, then exit 3 (a second later: see logs.test.ts on the runtime's last lines).
    const p = pipeline('e2e-exit').pod(
      'fail',
      {},
      {
        image: SHELL,
        command: [
          'sh',
          '-c',
          `awk 'BEGIN { for (i = 1; i <= 25; i++) printf "out-%02d\\n", i }'; sleep 1; exit 3`,
        ],
        resources: SMALL,
      },
    )
    const error = await run(p).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    const message = error?.message ?? ''
    // The code, then the container's last ten lines as it printed them.
    expect(message).toMatch(/exit(?:ed with)? code 3\b/)
    const tail = Array.from({ length: 10 }, (_, i) => `out-${i + 16}`)
    expect(message).toContain(tail.join('\n'))
    expect(message).not.toContain('out-15')
  })

  it('fails a pod that cannot be scheduled once its schedule timeout passes', async () => {
    // The double finds at once that no node fits; a cluster's scheduler is given 15 s.
    const scheduleTimeout = clusterOf(probe).kind === 'double' ? '3s' : '15s'
    const p = pipeline('e2e-pending').pod(
      'stuck',
      { scheduleTimeout },
      {
        image: SHELL,
        command: ['true'],
        nodeSelector: { 'podline.dev/e2e': 'no-such-node' },
        resources: SMALL,
      },
    )
    await expect(run(p)).rejects.toThrow(/pending|unschedulable|schedul/i)
  })

  describe('in a namespace whose ResourceQuota requires limits', () => {
    let quotaNamespace = ''
    beforeAll(async () => {
      quotaNamespace = await createNamespace(clusterOf(probe), 'podline-e2e-quota')
      await requireLimitsQuota(clusterOf(probe), quotaNamespace)
    })
    afterAll(async () => {
      if (quotaNamespace) await deleteNamespace(clusterOf(probe), quotaNamespace)
    })

    it('names the failed quota when the base container has no limits (403)', async () => {
      const p = pipeline('e2e-quota-403').pod('bare', {}, { image: SHELL, command: ['true'] })
      await expect(run(p, quotaNamespace)).rejects.toThrow(/forbidden: failed quota/)
    })

    it('admits the pod once the base container has limits: the sidecar carries its own', async () => {
      const p = pipeline('e2e-quota-ok').pod(
        'limited',
        {},
        {
          image: SHELL,
          command: ['sh', '-c', `printf '{"ok":true}' > /airflow/xcom/return.json`],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
        },
      )
      expect((await run(p, quotaNamespace)).limited).toEqual({ ok: true })
    })
  })
})
