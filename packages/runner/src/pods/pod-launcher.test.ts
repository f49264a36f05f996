import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { type KubeDouble, type PodJson, startKubeDouble } from '@podline/kube-double'
import { type PodRunOptions, type PodSpec, type PodTaskDefinition, pipeline } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TaskFailure, TaskSkipped } from '../engine/task-failure.js'
import { HandedOverError } from '../executors/handed-over.js'
import { LeaseLostError } from '../queue/attempt-fence.js'
import { executionFixture } from './__tests__/task-execution-fixture.js'
import { startTruncatingProxy } from './__tests__/truncating-proxy.js'
import { createPodExecutor, type PodExecutorOptions } from './pod-executor.js'
import { podName } from './pod-identity.js'

let double: KubeDouble
let scratch: string

beforeAll(async () => {
  double = await startKubeDouble({ imagePullBackOffMs: 50 })
  scratch = await mkdtemp(join(tmpdir(), 'podline-pods-test-'))
})
afterAll(async () => {
  await double?.close()
})

const fastRetry = { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 }

function executor(options: Partial<PodExecutorOptions> = {}) {
  return createPodExecutor({
    runtime: 'kubernetes',
    kube: { kubeconfig: double.kubeconfigPath },
    apiRetry: fastRetry,
    ...options,
  })
}

function podTask(spec: PodSpec, options: PodRunOptions & { output?: z.ZodType } = {}): PodTaskDefinition {
  return pipeline('pods-test').pod('work', options, spec).tasks[0] as PodTaskDefinition
}

const sh = (script: string): PodSpec => ({
  image: 'alpine:3.20',
  command: ['sh', '-c', script],
})

async function failureOf(promise: Promise<unknown>): Promise<TaskFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TaskFailure)
  return error as TaskFailure
}

/** Polls the double's store (test side only) until a pod matches. */
async function eventually<T>(find: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const found = find()
    if (found !== undefined) return found
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const podOf = (runId: string) => double.pods().find((p) => p.metadata.labels?.['podline.dev/run'] === runId)
const baseRunning = (runId: string) =>
  eventually(() => {
    const pod = podOf(runId)
    return pod?.status.containerStatuses?.find((s) => s.name === 'base')?.state.running ? pod : undefined
  }, `base of ${runId} running`)
const gone = (runId: string) => eventually(() => (podOf(runId) ? undefined : true), `pod of ${runId} deleted`)

/** A base container that waits for the test to create a file on the host. */
function gate(name: string): { script: string; open(): Promise<void> } {
  const file = join(scratch, name)
  return { script: `while [ ! -f ${file} ]; do sleep 0.02; done`, open: () => writeFile(file, '') }
}

type Fixture = ReturnType<typeof executionFixture>

/**
 * Executes `def` as `first` and, once its base runs, as `second` on another executor (another worker
 * process on the same attempt); once `second` has stored the pod's XComs (it found the pod), opens
 * the gate. Both results.
 */
async function executeTwice(
  def: PodTaskDefinition,
  o: { gate: ReturnType<typeof gate>; first: Fixture; second: Fixture },
): Promise<unknown[]> {
  const first = executor().execute(o.first.exec, def)
  await baseRunning(o.first.exec.runId)
  const second = executor().execute(o.second.exec, def)
  await eventually(() => (o.second.xcoms.length === 2 ? true : undefined), 'the second execution to attach')
  await o.gate.open()
  return Promise.all([first, second])
}

describe('pod tasks on Kubernetes (client-node → HTTP → kube-double → processes)', () => {
  it('returns what base wrote to the hard-coded /airflow/xcom/return.json, storing pod_name and pod_namespace first', async () => {
    const f = executionFixture({
      onPutXcom: () => expect(podOf(f.exec.runId), 'the pod exists when its name is stored').toBeDefined(),
    })
    const def = podTask(
      sh(`echo starting; echo "{\\"key1\\": \\"v\\", \\"key2\\": 2}" > /airflow/xcom/return.json`),
    )
    double.requests.reset()
    const value = await executor().execute(f.exec, def)
    expect(value).toEqual({ key1: 'v', key2: 2 })
    const name = f.xcoms[0]?.value as string
    expect(f.xcoms).toEqual([
      { key: 'pod_name', value: expect.stringMatching(/^pods-test-work-a1-[0-9a-f]{8}$/) },
      { key: 'pod_namespace', value: 'default' },
    ])
    expect(f.lines).toContain('info [work] starting')
    expect(podOf(f.exec.runId), 'the pod stays until the outcome is stored').toBeDefined()
    await f.recorded()
    await gone(f.exec.runId) // onFinish delete_pod (the default)
    const requests = double.requests.snapshot()
    expect(name).toBeTruthy()
    // The cost of one successful pod task, recorded for the docs.
    console.info(`API requests for one successful pod task: ${JSON.stringify(requests)}`)
    expect(requests).toEqual({
      'list pods': 1,
      'watch pods': 1,
      'create pods': 1,
      // base's log stream; the result came in the sidecar's termination message, on the watch.
      'get pods/log': 1,
      'delete pods': 1,
    })
  })

  it('fails fatally on invalid JSON, naming the position and the first bytes', async () => {
    const f = executionFixture()
    const failure = await failureOf(
      executor().execute(f.exec, podTask(sh(`echo '{key1: v}' > $PODLINE_XCOM_PATH`))),
    )
    expect(failure.failureClass).toBe('fatal')
    expect(failure.message).toMatch(/not valid JSON \(.*position 1.*\); it starts with "\{key1: v\}\\n"/)
  })

  it('gives no return_value for an empty file', async () => {
    const f = executionFixture()
    expect(await executor().execute(f.exec, podTask(sh(': > /airflow/xcom/return.json')))).toBeUndefined()
  })

  it('gives no return_value when no file was written', async () => {
    const f = executionFixture()
    expect(await executor().execute(f.exec, podTask(sh('echo nothing to return')))).toBeUndefined()
  })

  it('refuses a value over the size limit, naming the limit and the size', async () => {
    const f = executionFixture()
    const big = `printf '"%0200d"' 0 > $PODLINE_XCOM_PATH`
    const failure = await failureOf(executor({ xcomSizeLimitBytes: 100 }).execute(f.exec, podTask(sh(big))))
    expect(failure.failureClass).toBe('fatal')
    expect(failure.message).toMatch(
      /is 202 bytes \(202 bytes\), over the XCom size limit of 100 bytes \(100 bytes/,
    )
  })

  it('fails a value that does not match the output schema, naming the task and the issue', async () => {
    const f = executionFixture()
    const def = podTask(sh(`echo '{"count": "many"}' > $PODLINE_XCOM_PATH`), {
      output: z.object({ count: z.number() }),
    })
    const failure = await failureOf(executor().execute(f.exec, def))
    expect(failure.failureClass).toBe('fatal')
    expect(failure.message).toMatch(/the result of pod task "work" failed validation: count: .*number/i)
  })

  it('detects a truncated frame when the sidecar log arrives cut short', async () => {
    const cutSidecarLogs = (path: string) => path.includes('/log') && path.includes('container=podline-xcom')
    const proxy = await startTruncatingProxy(double.url, cutSidecarLogs, 150)
    try {
      const f = executionFixture()
      const kubeconfig = await proxy.kubeconfigFor(double.kubeconfigPath, scratch)
      // 4,012 bytes: the kubelet keeps 4 KiB of the message, so the frame there is cut and the log is read.
      const value = `printf '{"long": "%04000d"}' 0 > $PODLINE_XCOM_PATH`
      const failure = await failureOf(executor({ kube: { kubeconfig } }).execute(f.exec, podTask(sh(value))))
      expect(failure.failureClass).toBe('fatal')
      expect(failure.message).toMatch(/^the result frame was truncated: expected 4012 bytes, got \d+/)
    } finally {
      await proxy.close()
    }
  })

  it('fails fast on an image that cannot be pulled', async () => {
    const f = executionFixture()
    const def = podTask({ image: 'ghcr.io/acme/missing:does-not-exist', command: ['true'] })
    const failure = await failureOf(executor().execute(f.exec, def))
    expect(failure.failureClass).toBe('fatal')
    expect(failure.message).toMatch(
      /container base of pod .* cannot start: (ErrImagePull|ImagePullBackOff): .*does-not-exist/,
    )
  })

  it('fails a pod still Pending after scheduleTimeout with the FailedScheduling message', async () => {
    const f = executionFixture()
    const def = podTask(
      { ...sh('true'), nodeSelector: { pool: 'gpu-that-does-not-exist' } },
      { scheduleTimeout: '300ms' },
    )
    const failure = await failureOf(executor().execute(f.exec, def))
    expect(failure.failureClass).toBe('fatal')
    expect(failure.message).toMatch(
      /still Pending after 300ms \(scheduleTimeout\): FailedScheduling: 0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector/,
    )
    await f.recorded()
    await gone(f.exec.runId)
  })

  it('reports OOMKilled with the memory limit', async () => {
    const f = executionFixture()
    const def = podTask({ ...sh('echo allocating; sleep 30'), resources: { limits: { memory: '64Mi' } } })
    const outcome = failureOf(executor().execute(f.exec, def))
    const pod = await baseRunning(f.exec.runId)
    double.faults.oomKill(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', 'base')
    const failure = await outcome
    expect(failure.failureClass).toBe('task')
    expect(failure.message).toMatch(/was OOMKilled \(memory limit 64Mi\)/)
  })

  it('fails a non-zero exit with the code and the last log lines', async () => {
    const f = executionFixture()
    const failure = await failureOf(
      executor().execute(f.exec, podTask(sh('echo "cannot connect to db" >&2; exit 3'))),
    )
    expect(failure.failureClass).toBe('task')
    expect(failure.message).toMatch(/exited with code 3; its last log line: cannot connect to db$/)
  })

  it('skips on an exit code listed in skipOnExitCode', async () => {
    const f = executionFixture()
    const error = await executor()
      .execute(f.exec, podTask(sh('exit 99'), { skipOnExitCode: [99] }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskSkipped)
    expect((error as Error).message).toMatch(/code 99/)
  })

  it('fails fatally on a ResourceQuota 403, naming what is missing (the sidecar has its limits)', async () => {
    double.faults.addResourceQuota({
      namespace: 'quota',
      name: 'compute',
      hard: ['limits.memory', 'requests.cpu'],
    })
    try {
      const f = executionFixture()
      const failure = await failureOf(
        executor().execute(f.exec, podTask({ ...sh('true'), namespace: 'quota' })),
      )
      expect(failure.failureClass).toBe('fatal')
      expect(failure.message).toMatch(
        /failed quota: compute: must specify limits.memory for: base; requests.cpu for: base\./,
      )
      const ok = executionFixture()
      const limited = {
        ...sh(`echo 1 > $PODLINE_XCOM_PATH`),
        namespace: 'quota',
        resources: { limits: { cpu: '1', memory: '64Mi' } },
      }
      expect(await executor().execute(ok.exec, podTask(limited))).toBe(1)
    } finally {
      double.faults.clear()
    }
  })

  it('fails fatally on an RBAC 403, naming the verb and resource', async () => {
    double.faults.denyRbac({ verb: 'create', resource: 'pods', user: 'system:serviceaccount:etl:worker' })
    try {
      const failure = await failureOf(executor().execute(executionFixture().exec, podTask(sh('true'))))
      expect(failure.failureClass).toBe('fatal')
      expect(failure.message).toMatch(/cannot create resource "pods"/)
    } finally {
      double.faults.clear()
    }
  })

  it('retries a 500 on create and succeeds', async () => {
    double.requests.reset()
    double.faults.failNext({ verb: 'create', resource: 'pods', status: 500 })
    const f = executionFixture()
    expect(await executor().execute(f.exec, podTask(sh(`echo '"ok"' > $PODLINE_XCOM_PATH`)))).toBe('ok')
    expect(double.requests.count({ verb: 'create', resource: 'pods' })).toBe(2)
  })

  it('waits out a 429 (Retry-After) and succeeds', async () => {
    double.requests.reset()
    double.faults.failNext({ verb: 'create', resource: 'pods', status: 429, retryAfterSeconds: 0 })
    const f = executionFixture()
    expect(await executor().execute(f.exec, podTask(sh(`echo 7 > $PODLINE_XCOM_PATH`)))).toBe(7)
    expect(double.requests.count({ verb: 'create', resource: 'pods' })).toBe(2)
  })

  it('gives up on persistent 5xx as an infra failure', async () => {
    double.faults.failNext({ verb: 'create', resource: 'pods', status: 503, count: 10 })
    try {
      const failure = await failureOf(executor().execute(executionFixture().exec, podTask(sh('true'))))
      expect(failure.failureClass).toBe('infra')
      expect(failure.message).toMatch(/kept failing \(503: .*\) after 4 attempts/)
    } finally {
      double.faults.clear()
    }
  })

  it('re-lists and re-watches after a 410 Gone on watch resume', async () => {
    const g = gate('gone-410')
    const f = executionFixture()
    double.requests.reset()
    const running = executor().execute(
      f.exec,
      podTask(sh(`${g.script}; echo '{"after": 410}' > $PODLINE_XCOM_PATH`)),
    )
    await baseRunning(f.exec.runId)
    double.faults.expireWatches()
    double.faults.dropWatches()
    await eventually(
      () => (double.requests.count({ verb: 'list', resource: 'pods' }) > 0 ? true : undefined),
      're-list',
    )
    await g.open()
    expect(await running).toEqual({ after: 410 })
    expect(double.requests.count({ verb: 'watch', resource: 'pods' })).toBeGreaterThanOrEqual(3)
  })

  it('round-trips in exec (compat) mode: cat through exec, then SIGINT to the sidecar', async () => {
    double.requests.reset()
    const f = executionFixture()
    const def = podTask(sh(`echo '{"mode": "exec"}' > /airflow/xcom/return.json`), { onFinish: 'keep_pod' })
    expect(await executor({ sidecarMode: 'exec' }).execute(f.exec, def)).toEqual({ mode: 'exec' })
    expect(double.requests.count({ verb: 'create', resource: 'pods/exec' })).toBe(2)
    // The kill reached the sidecar: the pod completes on its own.
    const done = await eventually(() => {
      const pod = podOf(f.exec.runId)
      return pod?.status.phase === 'Succeeded' ? pod : undefined
    }, 'pod Succeeded')
    expect(done.spec.containers.map((c) => c.name)).toEqual(['base', 'podline-xcom'])
  })

  it('attaches to the existing pod when the same attempt is executed again (worker restart)', async () => {
    const counter = join(scratch, 'runs-of-base')
    const g = gate('reattach')
    const f = executionFixture()
    const again = executionFixture({ runId: f.exec.runId })
    const def = podTask(sh(`echo ran >> ${counter}; ${g.script}; echo '"once"' > $PODLINE_XCOM_PATH`), {
      onFinish: 'keep_pod',
    })
    double.requests.reset()
    // A second worker process (a fresh executor) picks up the same attempt.
    expect(await executeTwice(def, { gate: g, first: f, second: again })).toEqual(['once', 'once'])
    expect(double.pods().filter((p) => p.metadata.labels?.['podline.dev/run'] === f.exec.runId)).toHaveLength(
      1,
    )
    expect((await readFile(counter, 'utf8')).trim().split('\n')).toEqual(['ran'])
    // One POST created the pod; the second got 409 AlreadyExists and attached.
    expect(double.requests.count({ verb: 'create', resource: 'pods' })).toBe(2)
    expect(again.lines.some((l) => l.includes('reattached to pod'))).toBe(true)
  })

  it('looks for the pod before creating it when the attempt was taken over from a dead worker', async () => {
    const g = gate('takeover')
    const f = executionFixture()
    const takeover = executionFixture({ runId: f.exec.runId, resumed: true })
    const def = podTask(sh(`${g.script}; echo '"once"' > $PODLINE_XCOM_PATH`))
    double.requests.reset()
    // The first worker is presumed dead (its lease expired); its executor is simply never heard from.
    expect(await executeTwice(def, { gate: g, first: f, second: takeover })).toEqual(['once', 'once'])
    // The double saw exactly one create for that pod: the takeover read it and attached.
    expect(double.requests.count({ verb: 'create', resource: 'pods' })).toBe(1)
    expect(takeover.lines.some((l) => l.includes('reattached to pod'))).toBe(true)
  })

  it('refuses to attach to a same-named pod of another task run', async () => {
    const f = executionFixture()
    const kc = new KubeConfig()
    kc.loadFromFile(double.kubeconfigPath)
    const name = podName({
      store: f.exec.storeId,
      pipeline: 'pods-test',
      runId: f.exec.runId,
      task: 'work',
      attempt: 1,
    })
    await kc.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name, labels: { app: 'someone-else' } },
        spec: { containers: [{ name: 'main', image: 'alpine:3.20', command: ['sleep', '5'] }] },
      },
    })
    const failure = await failureOf(executor().execute(f.exec, podTask(sh('true'))))
    expect(failure.failureClass).toBe('fatal')
    expect(failure.message).toMatch(/already exists but does not belong to run/)
    expect(double.pods().find((p) => p.metadata.name === name)?.metadata.labels).toEqual({
      app: 'someone-else',
    })
  })

  it('treats a lost node as a retryable infra failure', async () => {
    const f = executionFixture()
    const outcome = failureOf(executor().execute(f.exec, podTask(sh('sleep 60'))))
    await baseRunning(f.exec.runId)
    await double.faults.loseNode()
    try {
      const failure = await outcome
      expect(failure.failureClass).toBe('infra')
      expect(failure.message).toMatch(/NodeLost|deleted while the task ran/)
    } finally {
      double.faults.restoreNode()
    }
  })

  it('deletes the pod when the task is cancelled', async () => {
    const f = executionFixture()
    const outcome = executor()
      .execute(f.exec, podTask(sh('sleep 60')))
      .catch((e: unknown) => e)
    await baseRunning(f.exec.runId)
    const reason = new Error('run cancelled')
    f.controller.abort(reason)
    expect(await outcome).toBe(reason)
    await gone(f.exec.runId)
  })

  it('leaves the pod to the next holder when the attempt is handed over (lease lost, worker stopping)', async () => {
    for (const reason of [
      new LeaseLostError('the lease of this attempt was taken away'),
      new HandedOverError('the worker is shutting down; the attempt goes back to the queue'),
    ]) {
      const g = gate(`handed-over-${reason.name}`)
      const f = executionFixture()
      const def = podTask(sh(`${g.script}; echo '"once"' > $PODLINE_XCOM_PATH`))
      const first = executor()
        .execute(f.exec, def)
        .catch((e: unknown) => e)
      await baseRunning(f.exec.runId)
      f.controller.abort(reason)
      expect(await first).toBe(reason)
      // The takeover continues the same attempt on the same pod, which is still there.
      const takeover = executionFixture({ runId: f.exec.runId, resumed: true })
      const second = executor().execute(takeover.exec, def)
      await eventually(() => (takeover.xcoms.length === 2 ? true : undefined), 'the takeover to attach')
      expect(takeover.lines.some((l) => l.includes('reattached to pod'))).toBe(true)
      await g.open()
      expect(await second).toBe('once')
    }
  })

  it('keeps a failed pod with delete_succeeded_pod, and any pod with keep_pod', async () => {
    const failed = executionFixture()
    await failureOf(
      executor().execute(failed.exec, podTask(sh('exit 1'), { onFinish: 'delete_succeeded_pod' })),
    )
    await failed.recorded()
    await eventually(
      () => (podOf(failed.exec.runId)?.status.phase === 'Failed' ? true : undefined),
      'failed pod kept',
    )
    const succeeded = executionFixture()
    await executor().execute(succeeded.exec, podTask(sh('true'), { onFinish: 'delete_succeeded_pod' }))
    await succeeded.recorded()
    await gone(succeeded.exec.runId)
    const kept = executionFixture()
    await executor().execute(kept.exec, podTask(sh('true'), { onFinish: 'keep_pod' }))
    await kept.recorded()
    expect(podOf(kept.exec.runId)).toBeDefined()
  })

  it('treats an eviction as a retryable infra failure', async () => {
    const f = executionFixture()
    const outcome = failureOf(executor().execute(f.exec, podTask(sh('sleep 60'))))
    const pod = await baseRunning(f.exec.runId)
    await double.faults.evict(
      pod.metadata.namespace ?? 'default',
      pod.metadata.name ?? '',
      'The node was low on resource: memory.',
    )
    const failure = await outcome
    expect(failure.failureClass).toBe('infra')
    expect(failure.message).toMatch(/Evicted/)
  })
})

export type { PodJson }
