import { randomUUID } from 'node:crypto'
import type { V1Pod } from '@kubernetes/client-node'
import { type PodRunOptions, type PodTaskDefinition, pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../store/database.js'
import { freshDatabase } from '../testing/fresh-database.js'
import { Worker } from '../worker/worker.js'
import { executionFixture } from './__tests__/task-execution-fixture.js'
import { useKubeDouble } from './__tests__/use-kube-double.js'
import { buildPod } from './pod-builder.js'
import { createPodExecutor } from './pod-executor.js'
import { resolveSidecar } from './xcom-sidecar.js'

const cluster = useKubeDouble()

const executor = () =>
  createPodExecutor({
    runtime: 'kubernetes',
    kube: { kubeconfig: cluster.double.kubeconfigPath },
    apiRetry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 },
  })

const nothingLive = async () => false

/** A pod left behind by a worker that died after creating it: built exactly as the launcher builds it. */
async function leftoverPod(
  o: { store: string; namespace?: string; script?: string; run?: PodRunOptions } & Partial<{
    runId: string
    task: string
  }>,
): Promise<{ namespace: string; name: string }> {
  const pod = buildPod({
    identity: {
      store: o.store,
      pipeline: 'sweep-test',
      runId: o.runId ?? randomUUID(),
      task: o.task ?? 'work',
      attempt: 1,
    },
    spec: {
      image: 'alpine:3.20',
      command: ['sh', '-c', o.script ?? 'sleep 60'],
      ...(o.namespace ? { namespace: o.namespace } : {}),
    },
    run: o.run ?? {},
    namespace: 'default',
    template: undefined,
    sidecar: resolveSidecar({}),
  })
  return createRaw(pod)
}

async function createRaw(pod: V1Pod): Promise<{ namespace: string; name: string }> {
  const namespace = pod.metadata?.namespace ?? 'default'
  await cluster.kube.core.createNamespacedPod({ namespace, body: pod })
  return { namespace, name: pod.metadata?.name ?? '' }
}

const find = (ref: { namespace: string; name: string }) =>
  cluster.double.pods().find((p) => p.metadata.namespace === ref.namespace && p.metadata.name === ref.name)

/** Present and not being deleted. */
const present = (ref: { namespace: string; name: string }) => {
  const pod = find(ref)
  return pod !== undefined && pod.metadata.deletionTimestamp === undefined
}

/** A pod whose deletion was accepted: terminating, or gone (the API removes a pod with nothing running at once). */
const deleting = (ref: { namespace: string; name: string }) =>
  until(() => !present(ref), `pod ${ref.namespace}/${ref.name} to be deleted`)

async function until(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('the orphan pod sweep', () => {
  it("does not delete another store's pods in the same namespace", async () => {
    const mine = randomUUID()
    const theirs = randomUUID()
    const ours = await leftoverPod({ store: mine })
    const running = await leftoverPod({ store: theirs })
    const seen: string[] = []
    const deleted = await executor().collectOrphans({ store: mine }, async (ref) => {
      seen.push(ref.runId)
      return false
    })
    expect(deleted).toBe(1)
    expect(seen).toHaveLength(1)
    await deleting(ours)
    expect(present(running), "the other store's running pod is untouched").toBe(true)
  })

  it('cancelling a run deletes only its own store’s pods, even when a cloned store has the same run id', async () => {
    const runId = randomUUID()
    const mine = randomUUID()
    const ours = await leftoverPod({ store: mine, runId })
    const clone = await leftoverPod({ store: randomUUID(), runId })
    expect(await executor().deletePodsOfRun(runId, { store: mine })).toBe(1)
    await deleting(ours)
    expect(present(clone)).toBe(true)
  })

  it('never deletes a keep_pod pod, nor a delete_succeeded_pod pod that failed', async () => {
    const store = randomUUID()
    const kept = await leftoverPod({ store, run: { onFinish: 'keep_pod' } })
    const failed = await leftoverPod({ store, script: 'exit 3', run: { onFinish: 'delete_succeeded_pod' } })
    const succeeded = await leftoverPod({ store, script: 'true', run: { onFinish: 'delete_succeeded_pod' } })
    await until(
      () => find(failed)?.status.phase === 'Failed' && find(succeeded)?.status.phase === 'Succeeded',
      'the delete_succeeded_pod pods to end',
    )
    expect(await executor().collectOrphans({ store }, nothingLive)).toBe(1)
    expect(present(kept)).toBe(true)
    expect(present(failed)).toBe(true)
    await deleting(succeeded)
  })

  it('a delete_succeeded_pod pod whose task failed on its result is kept by the sweep, though the pod succeeded', async () => {
    const store = randomUUID()
    const f = executionFixture({ storeId: store, pipeline: 'sweep-test' })
    const def = pipeline('sweep-test').pod(
      'work',
      { onFinish: 'delete_succeeded_pod' },
      {
        image: 'alpine:3.20',
        command: [
          'sh',
          '-c',
          'while [ ! -f /airflow/xcom/.sidecar.pid ]; do sleep 0.01; done; echo "{not json" > "$PODLINE_XCOM_PATH"',
        ],
      },
    ).tasks[0] as PodTaskDefinition
    const pods = executor()
    await expect(pods.execute(f.exec, def)).rejects.toThrow(/not valid JSON/)
    await f.recorded()
    const pod = () =>
      cluster.double.pods().find((p) => p.metadata.labels?.['podline.dev/run'] === f.exec.runId)
    await until(() => pod()?.status.phase === 'Succeeded', 'the pod to succeed')
    // The label is applied once the outcome is recorded, beside the report of the attempt's end.
    await until(() => pod()?.metadata.labels?.['podline.dev/kept'] === 'true', 'the pod to be labelled kept')
    expect(await pods.collectOrphans({ store }, nothingLive)).toBe(0)
    expect(pod()).toBeDefined()
  })

  it('a pod whose run label is not a uuid is skipped, not an abort of the whole sweep', async () => {
    const store = randomUUID()
    const odd = await leftoverPod({ store })
    const pod = find(odd)
    expect(pod).toBeDefined()
    // Same labels as a Podline pod of this store, but a run id no store of ours ever wrote.
    await cluster.kube.core.deleteNamespacedPod({ ...odd, gracePeriodSeconds: 0 })
    await until(() => find(odd) === undefined, 'the original to go')
    const labels = { ...pod?.metadata.labels, 'podline.dev/run': 'not-a-uuid' }
    const annotations = { 'podline.dev/run-id': 'not-a-uuid' }
    const strange = await createRaw({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'strange-labels', namespace: 'default', labels, annotations },
      spec: { containers: [{ name: 'base', image: 'alpine:3.20', command: ['sleep', '60'] }] },
    })
    const orphan = await leftoverPod({ store })
    const seen: string[] = []
    const deleted = await executor().collectOrphans({ store }, async (ref) => {
      seen.push(ref.runId)
      return false
    })
    expect(seen).not.toContain('not-a-uuid')
    expect(deleted).toBe(1)
    await deleting(orphan)
    expect(present(strange)).toBe(true)
  })

  it('looks in the namespaces the plans name and in every namespace the executor launched into', async () => {
    const store = randomUUID()
    const declared = await leftoverPod({ store, namespace: 'declared-ns' })
    const elsewhere = await leftoverPod({ store, namespace: 'launched-ns' })
    const pods = executor()
    expect(await pods.collectOrphans({ store, namespaces: ['declared-ns'] }, nothingLive)).toBe(1)
    await deleting(declared)
    expect(present(elsewhere), 'nothing told the sweep about launched-ns yet').toBe(true)

    const f = executionFixture({ storeId: store, pipeline: 'sweep-test' })
    const def = pipeline('sweep-test').pod(
      'work',
      {},
      {
        image: 'alpine:3.20',
        namespace: 'launched-ns',
        command: ['sh', '-c', 'while [ ! -f /airflow/xcom/.sidecar.pid ]; do sleep 0.01; done'],
      },
    ).tasks[0] as PodTaskDefinition
    await pods.execute(f.exec, def)
    await f.recorded()
    expect(await pods.collectOrphans({ store }, nothingLive)).toBe(1)
    await deleting(elsewhere)
  })

  it("a worker on a fresh database does not delete a running pod of another database's run on its first sweep", async () => {
    const [other, fresh] = await Promise.all([
      freshDatabase('podline_sweep_a'),
      freshDatabase('podline_sweep_b'),
    ])
    const [a, b] = await Promise.all([
      openDatabase({ databaseUrl: other.url }),
      openDatabase({ databaseUrl: fresh.url }),
    ])
    const worker = new Worker({
      database: b,
      pipelines: [pipeline('sweep-worker').pod('work', {}, { image: 'alpine:3.20', command: ['true'] })],
      pods: executor(),
      reconcileMs: 50,
      orphanSweepMs: 0,
    })
    try {
      const running = await leftoverPod({ store: await a.storeId() })
      // Left by a worker of the fresh database that died: the sweep must take this one.
      const orphan = await leftoverPod({ store: await b.storeId() })
      await worker.start()
      await deleting(orphan)
      expect(present(running), "the other database's pod survives the sweep").toBe(true)
    } finally {
      await worker.stop()
      await Promise.all([a.close(), b.close()])
      await Promise.all([other.drop(), fresh.drop()])
    }
  })
})
