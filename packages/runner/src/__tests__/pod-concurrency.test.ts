import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { type AnyPipeline, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, triggerPipeline, Worker, waitForRun } from '../index.js'
import { createPodExecutor } from '../pods/pod-executor.js'
import { openFreshDatabase, simulatedPodTasks, waitUntil } from '../testing/index.js'

const PODS = 60

describe('pod tasks hold no inline slot and share one watch', () => {
  let database: Database
  let close: () => Promise<void>
  let double: KubeDouble
  let open: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  beforeAll(async () => {
    ;({ database, close } = await openFreshDatabase())
    // Simulated containers: each base runs until the gate opens and "writes" its task's number.
    double = await startKubeDouble({
      containers: simulatedPodTasks({ until: gate, result: (task) => Number(task.slice(3)) }),
    })
  })
  afterAll(async () => {
    open()
    await close()
    await double.close()
  })

  it(`a worker with concurrency 1 supervises ${PODS} pods at once through one watch, and still runs an inline task`, async () => {
    let p: AnyPipeline = pipeline('pod-concurrency').task('inline', () => 'done')
    for (let i = 0; i < PODS; i++) {
      // Names built in a loop: the builder's types check literal names only.
      const name = `pod${i}` as 'pod'
      p = (p as ReturnType<typeof pipeline>).pod(name, {}, { image: 'alpine:3.20', command: ['true'] })
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
      await waitUntil(`all ${PODS} pods running`, () => baseRunning() === PODS, 20_000)
      const states = await database.rows<{ task: string; state: string }>(sql`
        select task, state from podline.task_runs where run_id = ${runId}::uuid`)
      expect(states.filter((s) => s.state === 'running')).toHaveLength(PODS)
      expect(states.find((s) => s.task === 'inline')?.state, 'the inline task ran beside the pods').toBe(
        'success',
      )
      open()
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
