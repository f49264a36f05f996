import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type PodRunOptions, type PodSpec, type PodTaskDefinition, pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TaskFailure, TaskSkipped } from '../engine/task-failure.js'
import { executionFixture } from './__tests__/task-execution-fixture.js'
import { createPodExecutor } from './pod-executor.js'

function podTask(spec: PodSpec, options: PodRunOptions & { output?: z.ZodType } = {}): PodTaskDefinition {
  return pipeline('process-test').pod('work', options, spec).tasks[0] as PodTaskDefinition
}

const sh = (script: string): PodSpec => ({ image: 'alpine:3.20', command: ['sh', '-c', script] })
const pods = createPodExecutor({ runtime: 'process' })

describe('the process runtime', () => {
  it('runs init containers then base, and returns what base wrote to the hard-coded path', async () => {
    const f = executionFixture()
    const spec: PodSpec = {
      ...sh(
        'echo "base sees $(cat /data/greeting)"; echo "{\\"key1\\": \\"v\\", \\"key2\\": 2}" > /airflow/xcom/return.json',
      ),
      volumes: [{ name: 'data', emptyDir: {} }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
      initContainers: [
        {
          name: 'prepare',
          image: 'alpine:3.20',
          command: ['sh', '-c', 'echo hello > /data/greeting'],
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
    }
    expect(await pods.execute(f.exec, podTask(spec))).toEqual({ key1: 'v', key2: 2 })
    expect(f.lines).toContain('info [work] base sees hello')
  })

  it('stores pod_name and pod_namespace XComs before the processes start, as the launcher does', async () => {
    const f = executionFixture()
    const spec = { ...sh('echo "{}" > $PODLINE_XCOM_PATH'), namespace: 'etl' }
    await pods.execute(f.exec, podTask(spec))
    expect(f.xcoms).toEqual([
      { key: 'pod_name', value: expect.stringMatching(/^pods-test-work-a1-[0-9a-f]{8}$/) },
      { key: 'pod_namespace', value: 'etl' },
    ])
    const other = executionFixture()
    await pods.execute(other.exec, podTask(sh('true')))
    expect(other.xcoms.find((x) => x.key === 'pod_namespace')?.value).toBe('default')
  })

  it('applies the same checks as the sidecar path', async () => {
    const invalid = pods.execute(executionFixture().exec, podTask(sh(`echo '{oops' > $PODLINE_XCOM_PATH`)))
    await expect(invalid).rejects.toThrow(/not valid JSON/)
    const schema = podTask(sh(`echo '{"n": "x"}' > $PODLINE_XCOM_PATH`), {
      output: z.object({ n: z.number() }),
    })
    await expect(pods.execute(executionFixture().exec, schema)).rejects.toThrow(
      /the result of pod task "work" failed validation/,
    )
    const small = createPodExecutor({ runtime: 'process', xcomSizeLimitBytes: 10 })
    await expect(
      small.execute(executionFixture().exec, podTask(sh(`echo '"0123456789"' > $PODLINE_XCOM_PATH`))),
    ).rejects.toThrow(/over the XCom size limit of 10 bytes/)
    expect(await pods.execute(executionFixture().exec, podTask(sh('true')))).toBeUndefined()
  })

  it('runs the pod buildPod makes: podTemplate from a file, fullPodSpec, $(VAR) in env and args', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'process-runtime-test-'))
    try {
      const template = join(dir, 'template.yaml')
      await writeFile(
        template,
        'kind: Pod\nspec:\n  containers:\n    - name: base\n      env:\n        - { name: TIER, value: gold }\n',
      )
      const f = executionFixture()
      const spec: PodSpec = {
        image: 'alpine:3.20',
        command: ['sh', '-c', 'printf "[%s, %s]" "$1" "$LABEL" > $PODLINE_XCOM_PATH', 'sh'],
        args: ['"$(TIER)"'],
        podTemplate: template,
        fullPodSpec: { metadata: { namespace: 'from-full-spec' } },
        env: [{ name: 'LABEL', value: '"$(TIER)-$$(TIER)"' }],
      }
      expect(await pods.execute(f.exec, podTask(spec))).toEqual(['gold', 'gold-$(TIER)'])
      expect(f.xcoms.find((x) => x.key === 'pod_namespace')?.value).toBe('from-full-spec')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('cannot read Secrets: their variables are left unset and their volumes not mounted, with a warning', async () => {
    const f = executionFixture()
    const spec: PodSpec = {
      ...sh(
        `v=unset; env | grep -q ^DB_PASSWORD= && v=set; printf '["%s", %s]' "$v" "$(ls /etc/db 2>/dev/null | wc -l)" > $PODLINE_XCOM_PATH`,
      ),
      secrets: [
        { deployType: 'env', secret: 'db', key: 'password', deployTarget: 'DB_PASSWORD' },
        { deployType: 'env', secret: 'all' },
        { deployType: 'volume', secret: 'db', deployTarget: '/etc/db' },
      ],
    }
    expect(await pods.execute(f.exec, podTask(spec))).toEqual(['unset', 0])
    expect(f.lines.filter((l) => l.startsWith('warn'))).toEqual([
      'warn env DB_PASSWORD reads secret "db", which the process runtime cannot resolve; it is left unset',
      'warn envFrom secret "all" is ignored: the process runtime cannot read it',
      'warn secret "db" is not mounted at /etc/db: the process runtime has no such volume',
    ])
  })

  it('classifies exit codes as the pod launcher does', async () => {
    const failed = await pods
      .execute(executionFixture().exec, podTask(sh('echo boom; exit 4')))
      .catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(TaskFailure)
    expect((failed as TaskFailure).message).toMatch(/exited with code 4; its last log line: boom$/)
    const skipped = await pods
      .execute(executionFixture().exec, podTask(sh('exit 4'), { skipOnExitCode: 4 }))
      .catch((e: unknown) => e)
    expect(skipped).toBeInstanceOf(TaskSkipped)
  })

  it('kills the process group when the task is cancelled', async () => {
    const f = executionFixture()
    const outcome = pods
      .execute(f.exec, podTask(sh('echo started; sleep 60 & wait')))
      .catch((e: unknown) => e)
    while (!f.lines.includes('info [work] started')) await new Promise((r) => setTimeout(r, 10))
    const reason = new Error('cancelled')
    f.controller.abort(reason)
    expect(await outcome).toBe(reason)
  })
})
