import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { openDatabase, runLocal, taskXcoms } from '@podline/runner'
import { freshDatabase } from '@podline/runner/testing'
import { Pod } from 'kubernetes-models/v1'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { podXcom } from './pod-xcom.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'apps/cli/dist/main.js')

function podline(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
  })
  child.stderr.on('data', (d) => {
    out += d
  })
  return { child, output: () => out, exited: new Promise<number | null>((r) => child.on('close', r)) }
}

describe('examples/pod-xcom.ts end to end: worker → client-node → HTTP → the Kubernetes double → processes', () => {
  let double: KubeDouble
  let db: Awaited<ReturnType<typeof freshDatabase>>
  beforeAll(async () => {
    double = await startKubeDouble()
    db = await freshDatabase()
  })
  afterAll(async () => {
    await double?.close()
    await db?.drop()
  })

  it('hands key1 to an inline task (typed) and to a second pod (args and env)', async () => {
    const env = { DATABASE_URL: db.url, KUBECONFIG: double.kubeconfigPath, PODLINE_NAMESPACE: 'default' }
    const worker = podline(['worker', 'examples/pod-xcom.ts', '--concurrency', '2'], env)
    try {
      await expect.poll(() => worker.output(), { timeout: 30_000 }).toMatch(/started/)
      const trigger = podline(['trigger', 'pod-xcom', '--wait', '--json'], env)
      expect(await trigger.exited).toBe(0)
      const { runId, state } = JSON.parse(trigger.output().slice(trigger.output().indexOf('{')))
      expect(state).toBe('success')
      const database = await openDatabase({ databaseUrl: db.url })
      try {
        const xcom = async (task: string) =>
          Object.fromEntries((await taskXcoms(database, runId, task)).map((x) => [x.key, x.value]))
        const produce = await xcom('produce')
        expect(produce.return_value).toEqual({ key1: 'hello', key2: 42 })
        expect(produce.pod_namespace).toBe('default')
        expect(String(produce.pod_name)).toMatch(/^pod-xcom-produce-/)
        expect((await xcom('shout')).return_value).toEqual({ loud: 'HELLO', twice: 84 })
        expect((await xcom('consume')).return_value).toEqual({ arg: 'hello', env: 'hello' })
      } finally {
        await database.close()
      }
      // One pod per pod task, created once, and deleted after (onFinish delete_pod).
      expect(double.requests.count({ verb: 'create', resource: 'pods' })).toBe(2)
      // Deletion is graceful: the double drops each pod once its containers have stopped.
      await expect.poll(() => double.pods(), { timeout: 15_000 }).toEqual([])
    } finally {
      worker.child.kill('SIGTERM')
      expect(await worker.exited).toBe(0)
    }
  })

  it('runs the same pipeline with the process runtime, no cluster involved', async () => {
    const out = await runLocal(podXcom, undefined, { runtime: 'process', databaseUrl: db.url })
    expect(out).toEqual({
      produce: { key1: 'hello', key2: 42 },
      shout: { loud: 'HELLO', twice: 84 },
      consume: { arg: 'hello', env: 'hello' },
    })
  })

  it('podline plan prints the pods as YAML that the Kubernetes schema accepts, without running anything', async () => {
    const plan = podline(['plan', 'examples/pod-xcom.ts'], {})
    expect(await plan.exited).toBe(0)
    const pods = parseAllDocuments(plan.output()).map((d) => d.toJS() as Record<string, unknown>)
    expect(
      pods.map((p) => (p.metadata as { labels: Record<string, string> }).labels['podline.dev/task']),
    ).toEqual(['produce', 'consume'])
    for (const pod of pods)
      expect(() => new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate()).not.toThrow()
    // consume's args come from produce, which has not run: placeholders stand in for the values.
    expect(plan.output()).toContain('{{ produce.key1 }}')
  })
})
