import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { type PodSpec, type PodTaskDefinition, pipeline } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitUntil } from '../testing/index.js'
import { executionFixture } from './__tests__/task-execution-fixture.js'
import { createPodExecutor, type PodExecutorOptions } from './pod-executor.js'

let double: KubeDouble
let scratch: string

beforeAll(async () => {
  double = await startKubeDouble()
  scratch = await mkdtemp(join(tmpdir(), 'podline-pod-logs-'))
})
afterAll(async () => {
  await double?.close()
})

const executor = (options: Partial<PodExecutorOptions> = {}) =>
  createPodExecutor({ runtime: 'kubernetes', kube: { kubeconfig: double.kubeconfigPath }, ...options })

const podTask = (spec: PodSpec): PodTaskDefinition =>
  pipeline('pod-logs').pod('work', {}, spec).tasks[0] as PodTaskDefinition

const sh = (script: string): PodSpec => ({ image: 'alpine:3.20', command: ['sh', '-c', script] })

/** The task's stored log lines that base printed, without the prefix. */
const printed = (lines: string[]) =>
  lines.filter((l) => l.startsWith('info [work] ')).map((l) => l.slice('info [work] '.length))

describe('base-container logs at scale', () => {
  it('survives the kubelet rotating the log mid-stream: every line stored once', async () => {
    const f = executionFixture()
    const running = executor().execute(
      f.exec,
      podTask(sh('for i in $(seq 1 30); do echo line-$i; sleep 0.1; done')),
    )
    await waitUntil('line 5 streamed', () => printed(f.lines).includes('line-5'), 10_000)
    const pod = double.pods().find((p) => p.metadata.labels?.['podline.dev/run'] === f.exec.runId)
    double.faults.rotateLog('default', pod?.metadata.name ?? '', 'base')
    await running
    expect(printed(f.lines)).toEqual(Array.from({ length: 30 }, (_, i) => `line-${i + 1}`))
  })

  it('says in the task log that a rotation can cost lines when the kubelet rotated a log of a megabyte', async () => {
    // The double's stream goes on across a rotation; a real kubelet's can drop the lines written at
    // that moment (infra/kind/e2e/logs.test.ts), which only this notice can tell the reader.
    const gate = join(scratch, 'rotate-big')
    const lines = (from: number, to: number) =>
      `for i in $(seq ${from} ${to}); do printf "%04d %01000d\\n" $i 0; done`
    const f = executionFixture()
    const running = executor().execute(
      f.exec,
      podTask(sh(`${lines(1, 600)}; while [ ! -f ${gate} ]; do sleep 0.05; done; ${lines(601, 1200)}`)),
    )
    await waitUntil('600 lines streamed', () => printed(f.lines).length === 600, 10_000)
    const pod = double.pods().find((p) => p.metadata.labels?.['podline.dev/run'] === f.exec.runId)
    double.faults.rotateLog('default', pod?.metadata.name ?? '', 'base')
    await writeFile(gate, '')
    await running
    const zeros = '0'.repeat(1000)
    expect(printed(f.lines)).toEqual(
      Array.from({ length: 1200 }, (_, i) => `${String(i + 1).padStart(4, '0')} ${zeros}`),
    )
    expect(f.lines.filter((l) => l.includes('the kubelet rotated the log of container base'))).toHaveLength(1)
  })

  it('streams up to logStreams pods at once; a pod that ends without a stream has its last lines read', async () => {
    const gate = join(scratch, 'open')
    const pods = executor({ logStreams: 1, logTailLines: 3 })
    const lines = 'for i in 1 2 3 4 5; do echo line-$i; done'
    const streamed = executionFixture()
    const readAtEnd = executionFixture()
    double.requests.reset()
    const first = pods.execute(
      streamed.exec,
      podTask(sh(`${lines}; while [ ! -f ${gate} ]; do sleep 0.05; done`)),
    )
    await waitUntil('the first pod streamed', () => printed(streamed.lines).length === 5, 10_000)
    // The one stream is taken: this pod ends without one, and its log is read once, capped.
    await pods.execute(readAtEnd.exec, podTask(sh(lines)))
    expect(printed(readAtEnd.lines)).toEqual(['line-3', 'line-4', 'line-5'])
    expect(readAtEnd.lines.filter((l) => l.includes('its last 3 lines only'))).toHaveLength(1)
    await writeFile(gate, '')
    await first
    expect(printed(streamed.lines)).toEqual(['line-1', 'line-2', 'line-3', 'line-4', 'line-5'])
    // A stream or one read per pod; the results came in the sidecars' termination messages.
    expect(double.requests.count({ verb: 'get', resource: 'pods/log' })).toBe(2)
  })
})
