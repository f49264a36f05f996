import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { type AnyPipeline, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, triggerPipeline, Worker, waitForRun } from '../index.js'
import { createPodExecutor } from '../pods/pod-executor.js'
import { openFreshDatabase, waitUntil } from '../testing/index.js'

const PODS = 60

describe('pod tasks hold no inline slot and share one watch', () => {
  let database: Database
  let close: () => Promise<void>
  let double: KubeDouble
  let scratch: string
  beforeAll(async () => {
    ;({ database, close } = await openFreshDatabase())
    double = await startKubeDouble()
    scratch = mkdtempSync(join(tmpdir(), 'podline-pod-concurrency-'))
  })
  afterAll(async () => {
    await close()
    await double.close()
    rmSync(scratch, { recursive: true, force: true })
  })

  it(`a worker with concurrency 1 supervises ${PODS} pods at once through one watch, and still runs an inline task`, async () => {
    const gate = join(scratch, 'open')
    let p: AnyPipeline = pipeline('pod-concurrency').task('inline', () => 'done')
    for (let i = 0; i < PODS; i++) {
      p = (p as ReturnType<typeof pipeline>).pod(
        `pod${i}`,
        {},
        {
          image: 'alpine:3.20',
          command: [
            'sh',
            '-c',
            `while [ ! -f ${gate} ]; do sleep 0.3; done; echo ${i} > /airflow/xcom/return.json`,
          ],
        },
      )
    }
    const worker = new Worker({
      database,
      pipelines: [p],
      concurrency: 1,
      pods: createPodExecutor({ runtime: 'kubernetes', kube: { kubeconfig: double.kubeconfigPath } }),
    })
    await worker.start()
    try {
      const runId = await triggerPipeline(database, p, {})
      const baseRunning = () =>
        double
          .pods('default')
          .filter((pod) => pod.status.containerStatuses?.some((s) => s.name === 'base' && s.state.running))
          .length
      await waitUntil(`all ${PODS} pods running`, () => baseRunning() === PODS, 60_000)
      const states = await database.rows<{ task: string; state: string }>(sql`
        select task, state from podline.task_runs where run_id = ${runId}::uuid`)
      expect(states.filter((s) => s.state === 'running')).toHaveLength(PODS)
      expect(states.find((s) => s.task === 'inline')?.state, 'the inline task ran beside the pods').toBe(
        'success',
      )
      writeFileSync(gate, '')
      expect(await waitForRun(database, runId, { pollMs: 100 })).toBe('success')
      const [xcom] = await database.rows<{ value: unknown }>(sql`
        select value from podline.xcoms where run_id = ${runId}::uuid and task = 'pod42' and key = 'return_value'`)
      expect(xcom?.value).toBe(42)
      expect(double.requests.count({ verb: 'create', resource: 'pods' })).toBe(PODS)
      expect(
        double.requests.count({ verb: 'watch', resource: 'pods' }),
        'one shared watch, not one per pod',
      ).toBeLessThanOrEqual(2)
      expect(double.requests.count({ verb: 'list', resource: 'pods' })).toBeLessThanOrEqual(2)
    } finally {
      await worker.stop({ drainMs: 1000 })
    }
  })
})
