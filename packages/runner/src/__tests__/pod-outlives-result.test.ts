import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { type Database, triggerPipeline, Worker, waitForRun } from '../index.js'
import { useKubeDouble } from '../pods/__tests__/use-kube-double.js'
import { createPodExecutor } from '../pods/pod-executor.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'
import { useTempFolder } from './use-temp-folder.js'

/*
 * Regression: a pod task deleted its pod before the attempt's result was stored. A worker that died
 * between the two left its takeover no pod to read, so the takeover created the pod again and the
 * pod's work ran twice (a side effect written twice, in the SIGKILL fault suite). The pod now
 * outlives the storing of its result: the takeover attaches to it and reads what it wrote.
 */
describe('a worker that loses the database after its pod ended, before storing the result', () => {
  const db = useFreshDatabase()
  const cluster = useKubeDouble()
  const scratch = useTempFolder('podline-outlives-')

  it('leaves the pod to its takeover, which reads its result: the pod runs once', async () => {
    const sideFile = join(scratch.path, 'ran')
    const p = pipeline('pod-outlives-result').pod(
      'work',
      {},
      {
        image: 'alpine:3.20',
        command: ['sh', '-c', `echo ran >> ${sideFile}; echo '{"rows": 3}' > /airflow/xcom/return.json`],
      },
    )
    const kube = { kubeconfig: cluster.double.kubeconfigPath }
    let cut = false
    // The same database, except that once `cut` is set every query fails as a dropped connection does.
    const cutOff: Database = {
      ...db.database,
      rows: (query, executor) =>
        cut
          ? Promise.reject(new Error('connection terminated unexpectedly'))
          : db.database.rows(query, executor),
    }
    const pods = createPodExecutor({ runtime: 'kubernetes', kube })
    const ended: string[] = []
    const first = new Worker({
      database: cutOff,
      pipelines: [p],
      leaseMs: 800,
      reconcileMs: 60_000,
      leaseThread: false,
      pods: {
        ...pods,
        // The pod has ended and its result is read: the database goes away before it is stored.
        execute: (exec, def) =>
          pods.execute(exec, def).finally(() => {
            cut = true
          }),
      },
      onAttempt: (e) => {
        if (e.type === 'finished') ended.push(e.state)
      },
    })
    await first.start()
    const runId = await triggerPipeline(db.database, p, {})
    await waitUntil('the first worker to give the attempt up', () => ended.includes('lost'))
    const podOfRun = () =>
      cluster.double.pods().find((pod) => pod.metadata.labels?.['podline.dev/run'] === runId)
    expect(podOfRun(), 'the pod is still there for a takeover').toBeDefined()

    const second = new Worker({
      database: db.database,
      pipelines: [p],
      leaseMs: 800,
      reconcileMs: 100,
      pods: createPodExecutor({ runtime: 'kubernetes', kube }),
    })
    await second.start()
    try {
      expect(await waitForRun(db.database, runId, { pollMs: 100 })).toBe('success')
      expect(readFileSync(sideFile, 'utf8')).toBe('ran\n')
      expect(cluster.double.requests.count({ verb: 'create', resource: 'pods' })).toBe(1)
      const [xcom] = await db.database.rows<{ value: unknown }>(sql`
        select value from podline.xcoms where run_id = ${runId}::uuid and task = 'work' and key = 'return_value'`)
      expect(xcom?.value).toEqual({ rows: 3 })
      // Stored first, then deleted: the takeover's onFinish removes the pod.
      await waitUntil('the pod to be deleted once its result is stored', () => podOfRun() === undefined)
    } finally {
      cut = false
      await Promise.all([first.stop({ drainMs: 1000 }), second.stop({ drainMs: 1000 })])
    }
  })
})
