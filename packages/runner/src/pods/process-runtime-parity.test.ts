import { randomUUID } from 'node:crypto'
import { canBindMount } from '@podline/container-process'
import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { type PodSpec, type PodTaskDefinition, pipeline } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { executionFixture } from './__tests__/task-execution-fixture.js'
import { createPodExecutor, type PodExecutorOptions } from './pod-executor.js'

let double: KubeDouble

beforeAll(async () => {
  double = await startKubeDouble()
})
afterAll(async () => {
  await double?.close()
})

// What the container saw, as its result: its whole environment, its argv, its working directory and
// the file its init container left in their shared emptyDir. No `$` in it: the kubelet expands `$(…)`.
const REPORT = `const fs = require('node:fs')
fs.writeFileSync(process.env.PODLINE_XCOM_PATH, JSON.stringify({
  env: process.env,
  argv: process.argv.slice(1),
  cwd: process.cwd(),
  note: fs.readFileSync('/scratch/note', 'utf8'),
}))`

/** One spec with a template, a full pod spec, `$(VAR)` references, the downward API and an emptyDir. */
const spec: PodSpec = {
  image: 'node:22-alpine',
  podTemplate: {
    metadata: { labels: { team: 'data' } },
    spec: { containers: [{ name: 'base', env: [{ name: 'FROM_TEMPLATE', value: 'template' }] }] },
  },
  fullPodSpec: { spec: { containers: [{ name: 'base', workingDir: '/scratch' }] } },
  command: [process.execPath, '-e', REPORT],
  args: ['$(GREETING)', '$$(GREETING)', '$(UNDEFINED)', 'plain'],
  env: [
    { name: 'GREETING', value: 'hello' },
    { name: 'DERIVED', value: '$(GREETING) from $(FROM_TEMPLATE)' },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'TEAM', valueFrom: { fieldRef: { fieldPath: "metadata.labels['team']" } } },
    // The double has no Secrets: an optional reference is left unset, as by the process runtime.
    { name: 'MAYBE', valueFrom: { secretKeyRef: { name: 'absent', key: 'k', optional: true } } },
  ],
  volumes: [{ name: 'scratch', emptyDir: {} }],
  volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
  initContainers: [
    {
      name: 'prepare',
      image: 'alpine:3.20',
      command: ['sh', '-c', 'echo "from $(GREETING) in $HOSTNAME" > /scratch/note'],
      env: [{ name: 'GREETING', value: 'init' }],
      volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
    },
  ],
}

const task = pipeline('parity').pod('work', {}, spec).tasks[0] as PodTaskDefinition

async function runWith(options: PodExecutorOptions, runId: string) {
  const f = executionFixture({ runId })
  const pods = createPodExecutor(options)
  try {
    const result = await pods.execute(f.exec, task)
    await f.recorded()
    return { result, xcoms: f.xcoms }
  } finally {
    await pods.close()
  }
}

describe('one pod spec, two emulations of a node', () => {
  it('the process runtime and the double (through the pod launcher) give the container the same world', async (ctx) => {
    // The shared emptyDir and the working directory in it are only where they are said to be when bind-mounted.
    if (!(await canBindMount()) || !double.bindMounts) ctx.skip()
    const runId = randomUUID()
    const cluster = await runWith(
      { runtime: 'kubernetes', kube: { kubeconfig: double.kubeconfigPath } },
      runId,
    )
    const local = await runWith({ runtime: 'process' }, runId)

    expect(local.xcoms).toEqual(cluster.xcoms)
    const podName = cluster.xcoms.find((x) => x.key === 'pod_name')?.value
    expect(cluster.result).toMatchObject({
      env: {
        HOSTNAME: podName,
        GREETING: 'hello',
        DERIVED: 'hello from template',
        FROM_TEMPLATE: 'template',
        POD_NAME: podName,
        POD_NAMESPACE: 'default',
        TEAM: 'data',
        PODLINE_XCOM_PATH: '/airflow/xcom/return.json',
        PODLINE_RUN_ID: runId,
      },
      argv: ['hello', '$(GREETING)', '$(UNDEFINED)', 'plain'],
      cwd: '/scratch',
      note: `from init in ${podName}\n`,
    })
    expect(cluster.result).not.toHaveProperty('env.MAYBE')
    expect(local.result).toEqual(cluster.result)
  })
})
