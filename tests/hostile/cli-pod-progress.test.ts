import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { freshDatabase, simulatedPodTasks } from '@podline/runner/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { podline } from '../../apps/cli/src/__tests__/cli.js'

/*
 * `podline run` with pod tasks on the Kubernetes double (simulated containers, no process spawned),
 * as a user with a cluster sees it: the progress lines in the order things happened, and a failed
 * pod's line saying what its log said.
 */
const PIPELINES = join(import.meta.dirname, 'fixtures/cli-pods.ts')

let db: Awaited<ReturnType<typeof freshDatabase>>
let double: KubeDouble
let env: Record<string, string>
beforeAll(async () => {
  db = await freshDatabase()
  double = await startKubeDouble({
    containers: simulatedPodTasks({
      result: (task) => (task === 'produce' ? { n: 1 } : undefined),
      output: (task) =>
        task === 'broken' ? 'connecting to db:5432\ncannot connect to db\n' : `${task} ran\n`,
      exitCode: (task) => (task === 'broken' ? 3 : 0),
    }),
  })
  env = { DATABASE_URL: db.url, KUBECONFIG: double.kubeconfigPath, PODLINE_RUNTIME: 'kubernetes' }
})
afterAll(async () => {
  await double?.close()
  await db?.drop()
})

describe('podline run with pod tasks', () => {
  it("shows a pod task's end before the start of the task that needs it, however long its pod takes to delete", async () => {
    // The pod's deletion, after its result is stored, waits out a 429: the downstream task starts meanwhile.
    double.faults.failNext({ verb: 'delete', resource: 'pods', status: 429, retryAfterSeconds: 2, count: 1 })
    const r = await podline(['run', PIPELINES, '--pipeline', 'cli-pod-order'], { env })
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stderr.split('\n')
    const produced = lines.findIndex((l) => /^task produce succeeded/.test(l))
    const consumed = lines.findIndex((l) => /^task consume started/.test(l))
    expect(produced, r.stderr).toBeGreaterThanOrEqual(0)
    expect(consumed, r.stderr).toBeGreaterThan(produced)
    expect(JSON.parse(r.stdout)).toEqual({ produce: { n: 1 }, consume: 2 })
  })

  it("a failed pod's progress line ends with its last log line, and the summary has the lines before it", async () => {
    const r = await podline(['run', PIPELINES, '--pipeline', 'cli-pod-broken'], { env })
    expect(r.code).toBe(1)
    const line = r.stderr.split('\n').find((l) => l.startsWith('task broken failed'))
    expect(line, r.stderr).toMatch(/exited with code 3; its last log line: cannot connect to db$/)
    expect(r.stderr).not.toMatch(/last log lines:\s*$/m)
    expect(r.stderr).toMatch(/last 2 log lines:\nconnecting to db:5432\ncannot connect to db\n/)
  })

  it('without a kubeconfig, says so once in full, with no frames of its own code', async () => {
    const home = mkdtempSync(join(tmpdir(), 'podline-no-kube-'))
    try {
      const r = await podline(['run', PIPELINES, '--pipeline', 'cli-pod-broken'], {
        env: { DATABASE_URL: db.url, KUBECONFIG: '', HOME: home, PODLINE_RUNTIME: 'kubernetes' },
      })
      expect(r.code).toBe(1)
      // The progress line shortens it; the summary says it whole, once, with the fix.
      expect(r.stderr.match(/--runtime process/g), r.stderr).toHaveLength(1)
      expect(r.stderr).toMatch(/failed: task "broken" failed: no kubeconfig found: KUBECONFIG is not set/)
      // A setting the user must change is not a crash: no stack through the runner's modules.
      expect(r.stderr, r.stderr).not.toMatch(/^\s+at /m)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
