import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cliBuilt, migrate, startWorker, triggerAndWait, type WorkerProcess } from './support/cli.js'
import { clusterOf, probeCluster, title, whereItRuns } from './support/cluster.js'
import { createNamespace, deleteNamespace, podlinePods, waitFor } from './support/namespace.js'

// `podline worker` processes on this machine sharing the cluster's PostgreSQL (port-forwarded by
// e2e.sh) and launching their pods on the cluster: what a fleet of worker Deployments does.

const probe = await probeCluster({ database: true })
const why = !probe.ok
  ? probe.reason
  : !probe.cluster.databaseUrl
    ? 'PODLINE_E2E_DATABASE_URL is not set (infra/kind/e2e.sh port-forwards the cluster database, infra/cluster/test.sh uses the local PostgreSQL)'
    : !cliBuilt
      ? 'apps/cli/dist/main.js is missing (npm run build)'
      : undefined
const PIPELINES = join(import.meta.dirname, 'pipelines')

describe.skipIf(why !== undefined)(
  title(`workers ${whereItRuns(probe)}`, why ? { ok: false, reason: why } : probe),
  () => {
    const cluster = () => clusterOf(probe)
    const databaseUrl = () => cluster().databaseUrl ?? ''
    let namespace = ''
    let marks = ''
    const workers: WorkerProcess[] = []

    beforeAll(async () => {
      // The double's database is a fresh one, migrated already.
      if (cluster().kind === 'cluster') await migrate(databaseUrl())
      namespace = await createNamespace(cluster(), 'podline-e2e-workers')
    })
    beforeEach(() => {
      marks = mkdtempSync(join(tmpdir(), 'podline-e2e-marks-'))
    })
    afterEach(async () => {
      // Reverse order of start; a killed worker has already exited.
      for (const w of workers.splice(0).reverse()) await w.stop()
      rmSync(marks, { recursive: true, force: true })
    })
    afterAll(async () => {
      if (namespace) await deleteNamespace(cluster(), namespace)
    })

    function env(): NodeJS.ProcessEnv {
      return {
        DATABASE_URL: databaseUrl(),
        KUBECONFIG: cluster().kubeconfig,
        PODLINE_KUBE_CONTEXT: cluster().context,
        PODLINE_NAMESPACE: namespace,
        PODLINE_RUNTIME: 'kubernetes',
        PODLINE_DRAIN_TIMEOUT_MS: '5000',
        PODLINE_E2E_MARK_DIR: marks,
        // The pipelines' pods and their sidecars run the shell image the cluster has.
        PODLINE_E2E_SHELL_IMAGE: cluster().shellImage,
        PODLINE_SIDECAR_IMAGE: cluster().shellImage,
        // The double's pods start at once: a short lease hands a dead worker's task over in
        // seconds, and the reattach pod need not run half a minute to outlive the handover.
        ...(cluster().kind === 'double'
          ? { PODLINE_LEASE_MS: '5000', PODLINE_E2E_REATTACH_SECONDS: '10' }
          : {}),
      }
    }

    /** `<task>.<attempt>.<pid>` files the pipelines leave (pipelines/mark.ts). */
    function readMarks(): { task: string; attempt: number; pid: number; value: string }[] {
      return readdirSync(marks).map((file) => {
        const [task = '', attempt = '', pid = ''] = file.split('.')
        return {
          task,
          attempt: Number(attempt),
          pid: Number(pid),
          value: readFileSync(join(marks, file), 'utf8'),
        }
      })
    }

    it('a worker killed mid-task is replaced by one that reattaches to the running pod', async () => {
      const e = env()
      const file = join(PIPELINES, 'reattach.ts')
      const first = await startWorker(file, 2, e)
      workers.push(first)
      const result = triggerAndWait('e2e-reattach', e)
      const running = await waitFor('the pod of task slow to run', async () => {
        const pods = await podlinePods(cluster().core, namespace)
        return pods.find((p) => p.status?.phase === 'Running')
      })
      first.child.kill('SIGKILL')
      workers.push(await startWorker(file, 2, e))

      const { runId, state } = await result
      expect(state).toBe('success')
      expect(readMarks().map((m) => [m.task, m.value])).toEqual([['read', 'reattached']])
      const pods = (await podlinePods(cluster().core, namespace)).filter(
        (p) =>
          p.metadata?.labels?.['podline.dev/task'] === 'slow' &&
          p.metadata.annotations?.['podline.dev/run-id'] === runId,
      )
      expect(
        pods,
        'one pod for the task: the second worker attached instead of launching another',
      ).toHaveLength(1)
      // The very pod the first worker created (same uid: not deleted and made again under its
      // deterministic name), of the first attempt: no retry was spent on the lost worker.
      expect(pods[0]?.metadata?.uid).toBe(running.metadata?.uid)
      expect(pods[0]?.metadata?.labels?.['podline.dev/attempt']).toBe('1')
    }, 300_000)

    it('three workers share one queue and run each task exactly once', async () => {
      const e = env()
      const file = join(PIPELINES, 'shared-queue.ts')
      for (let i = 0; i < 3; i++) workers.push(await startWorker(file, 1, e))

      const { state } = await triggerAndWait('e2e-shared-queue', e)
      expect(state).toBe('success')
      const seen = readMarks()
      for (const task of ['work-1', 'work-2', 'work-3', 'work-4', 'work-5', 'work-6', 'join']) {
        expect(
          seen.filter((m) => m.task === task),
          `${task} ran exactly once`,
        ).toHaveLength(1)
      }
      const pids = new Set(seen.filter((m) => m.task.startsWith('work-')).map((m) => m.pid))
      expect(pids.size, 'more than one worker took inline tasks').toBeGreaterThan(1)
      expect(JSON.parse(seen.find((m) => m.task === 'join')?.value ?? '{}')).toMatchObject({
        'pod-1': { n: 1 },
        'pod-2': { n: 2 },
      })
    }, 300_000)
  },
)
