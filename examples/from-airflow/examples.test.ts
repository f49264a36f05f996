import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import {
  type Database,
  openDatabase,
  runLocal,
  runStatus,
  TaskRunError,
  taskLogLines,
  taskXcoms,
} from '@podline/runner'
import { freshDatabase } from '@podline/runner/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runIdKeeper } from '../support/run-id-keeper.js'
import { kpoXcom } from './kpo-xcom.js'
import { nightlyOrders } from './trigger-rules.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'apps/cli/dist/main.js')
const run = promisify(execFile)

let double: KubeDouble
let db: Awaited<ReturnType<typeof freshDatabase>>
let database: Database
beforeAll(async () => {
  double = await startKubeDouble()
  db = await freshDatabase()
  database = await openDatabase({ databaseUrl: db.url })
})
afterAll(async () => {
  await database?.close()
  await double?.close()
  await db?.drop()
})

/** Each task's XComs of the latest run of a pipeline, keyed by task then key. */
async function xcomsOf(runId: string, tasks: readonly string[]) {
  const entries = await Promise.all(
    tasks.map(async (task) => [
      task,
      Object.fromEntries((await taskXcoms(database, runId, task)).map((x) => [x.key, x.value])),
    ]),
  )
  return Object.fromEntries(entries) as Record<string, Record<string, unknown>>
}

async function statesOf(runId: string) {
  const status = await runStatus(database, runId)
  return Object.fromEntries((status?.tasks ?? []).map((t) => [t.task, t.state]))
}

const runtimes = [
  ['the process runtime', () => ({ runtime: 'process' as const })],
  [
    'the Kubernetes double',
    () => ({ runtime: 'kubernetes' as const, kube: { kubeconfig: double.kubeconfigPath } }),
  ],
] as const

describe.each(runtimes)('examples/from-airflow on %s', (_name, pods) => {
  it('kpo-xcom: key1 reaches a Python-style task typed, and a second pod in its arguments', async () => {
    const run = runIdKeeper()
    const created = double.requests.count({ verb: 'create', resource: 'pods' })
    const out = await runLocal(kpoXcom, undefined, { database, ...pods(), onRun: run.onRun })
    expect(out).toEqual({
      'write-xcom': { key1: 'value1', key2: 2 },
      'read-key1': 'VALUE1',
      'echo-key1': { received: 'value1' },
    })
    // The three XComs a KubernetesPodOperator task leaves, under the same keys.
    const xcoms = await xcomsOf(run.id, ['write-xcom'])
    expect(xcoms['write-xcom']).toMatchObject({ return_value: { key1: 'value1', key2: 2 } })
    if (pods().runtime === 'kubernetes') {
      expect(double.requests.count({ verb: 'create', resource: 'pods' }) - created).toBe(2)
      expect(xcoms['write-xcom']?.pod_namespace).toBe('default')
      expect(String(xcoms['write-xcom']?.pod_name)).toMatch(/^kpo-xcom-write-xcom-a1-/)
    }
    // get_logs: base's output is in the task log, prefixed with the task name.
    const lines = (await taskLogLines(database, run.id, 'echo-key1')).map((l) => l.message)
    expect(lines).toContain('[echo-key1] key1 is value1')
  })

  it('trigger-rules: a skipped check does not stop none_failed, one_failed is skipped, all_done runs', async () => {
    const run = runIdKeeper()
    const out = await runLocal(
      nightlyOrders,
      { day: '2026-11-21' },
      { database, ...pods(), onRun: run.onRun },
    )
    expect(out).toMatchObject({
      extract: { uri: 's3://raw/2026-11-21.csv', rows: 3 },
      transform: { table: 'orders_20261121', rows: 3 },
      load: { table: 'orders_20261121', loaded: 3 },
      report: { summary: '3 rows into orders_20261121' },
    })
    expect(await statesOf(run.id)).toEqual({
      extract: 'success',
      'check-freshness': 'skipped',
      transform: 'success',
      load: 'success',
      report: 'success',
      alert: 'skipped',
      cleanup: 'success',
    })
  })
})

describe('examples/from-airflow failure path', () => {
  it('trigger-rules: a load that fails after its retry runs alert (one_failed) and cleanup (all_done), not report', async () => {
    const run = runIdKeeper()
    const failed = await runLocal(
      nightlyOrders,
      { failLoad: true },
      { database, runtime: 'process', onRun: run.onRun },
    ).catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(TaskRunError)
    expect((failed as TaskRunError).message).toMatch(/exited with code 3/)
    expect(await statesOf(run.id)).toEqual({
      extract: 'success',
      'check-freshness': 'skipped',
      transform: 'success',
      load: 'failed',
      report: 'upstream_failed',
      alert: 'success',
      cleanup: 'success',
    })
    const load = (await runStatus(database, run.id))?.tasks.find((t) => t.task === 'load')
    expect(load?.attempt).toBe(2)
    expect((await xcomsOf(run.id, ['alert'])).alert?.return_value).toEqual({
      message: 'the load of 2026-11-21 failed',
    })
  })

  it('podline run --runtime process runs the ported example as the guide says', async () => {
    const { stdout } = await run(
      process.execPath,
      [CLI, 'run', 'examples/from-airflow/kpo-xcom.ts', '--runtime', 'process'],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url } },
    )
    expect(JSON.parse(stdout)).toEqual({
      'write-xcom': { key1: 'value1', key2: 2 },
      'read-key1': 'VALUE1',
      'echo-key1': { received: 'value1' },
    })
  })
})
