import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CoreV1Api } from '@kubernetes/client-node'
import { runLocal } from '@podline/runner'
import { type AnyPipeline, pipeline, type RunOutputsOf } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { clusterOf, clusterOnly, probeCluster, requiring, title } from './support/cluster.js'
import { workerKubeconfig } from './support/worker-identity.js'

// Pod tasks launched as the workers' ServiceAccount, with a token and nothing else: every API call
// the pod path makes (create, watch, log, delete) must be one infra/k8s/base/role.yaml grants.

const probe = requiring(
  await probeCluster(),
  clusterOnly('the double has no ServiceAccount tokens or RBAC (its RBAC denials are injected faults)'),
)

describe.skipIf(!probe.ok)(title('pod tasks as the worker ServiceAccount', probe), () => {
  const dir = mkdtempSync(join(tmpdir(), 'podline-e2e-role-'))
  let kubeconfig = ''
  let asWorker: CoreV1Api | undefined

  beforeAll(async () => {
    kubeconfig = await workerKubeconfig(clusterOf(probe), dir)
    const k8s = await import('@kubernetes/client-node')
    const kc = new k8s.KubeConfig()
    kc.loadFromFile(kubeconfig)
    asWorker = kc.makeApiClient(k8s.CoreV1Api)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  function run<P extends AnyPipeline>(p: P): Promise<RunOutputsOf<P>> {
    const cluster = clusterOf(probe)
    const any: AnyPipeline = p
    return runLocal(
      any,
      {},
      {
        dataDir: join(dir, p.name),
        runtime: 'kubernetes',
        kube: { kubeconfig, namespace: cluster.worker.tasksNamespace },
        sidecarImage: cluster.shellImage,
      },
    ) as Promise<RunOutputsOf<P>>
  }

  it('holds a token that is not an admin: pods outside the tasks namespace are forbidden', async () => {
    const { worker } = clusterOf(probe)
    await expect(asWorker?.listNamespacedPod({ namespace: worker.namespace })).rejects.toMatchObject({
      code: 403,
    })
    await expect(asWorker?.listNamespacedSecret({ namespace: worker.tasksNamespace })).rejects.toMatchObject({
      code: 403,
    })
    // …and can list the pods it launches.
    const pods = await asWorker?.listNamespacedPod({ namespace: worker.tasksNamespace })
    expect(pods?.items).toBeInstanceOf(Array)
  })

  it("carries a pod's return.json to its typed downstream through the native sidecar", async () => {
    const { shellImage } = clusterOf(probe)
    const p = pipeline('e2e-role-xcom')
      .pod(
        'produce',
        { output: z.object({ rows: z.number(), table: z.string() }), sidecar: { mode: 'native' } },
        {
          image: shellImage,
          command: ['sh', '-c', `printf '{"rows":3,"table":"events"}' > /airflow/xcom/return.json`],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
        },
      )
      .task('consume', { needs: ['produce'] }, async ({ produce }) => `${produce.table}:${produce.rows * 2}`)
    const outputs = await run(p)
    expect(outputs.produce).toEqual({ rows: 3, table: 'events' })
    expect(outputs.consume).toBe('events:6')
  })

  it('fails a task whose image is absent with the kubelet’s pull error', async () => {
    const { absentImage } = clusterOf(probe)
    const p = pipeline('e2e-role-absent').pod(
      'pull',
      { scheduleTimeout: '30m' },
      {
        image: absentImage,
        resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
      },
    )
    await expect(run(p)).rejects.toThrow(/ImagePullBackOff|ErrImagePull/)
  })
})
