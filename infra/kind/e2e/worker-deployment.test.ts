import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { AppsV1Api, V1Deployment } from '@kubernetes/client-node'
import { openDatabase, triggerPipeline } from '@podline/runner'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import deploymentPipeline from '../../cluster/overlay/pipelines/e2e-deployment.js'
import { cliBuilt, triggerAndWait } from './support/cli.js'
import { clusterOf, clusterOnly, probeCluster, requiring, title } from './support/cluster.js'
import { sleep, waitFor } from './support/namespace.js'

// Podline as it ships, in the cluster: the dev overlay of infra/k8s applied with `kubectl apply -k`
// through infra/cluster/overlay, which swaps only the images (built on the machine) and the database
// (the host's PostgreSQL, reached from the pod network through infra/cluster's relay) and mounts
// the pipeline. The migration Job, two worker replicas with the shipped probes, preStop pause, drain
// timeout and rolling-update strategy, the in-cluster configuration with the ServiceAccount's token
// at the "kubernetes" Service's address, and task pods in podline-tasks under the Role.

const probe = requiring(
  await probeCluster(),
  clusterOnly('the double serves pods only: no Deployment, Job or Secret for `kubectl apply -k`'),
)
const why = !probe.ok
  ? probe.reason
  : !probe.cluster.deploymentOverlay
    ? 'PODLINE_E2E_DEPLOYMENT_OVERLAY is not set (infra/cluster/test.sh sets it to infra/cluster/overlay)'
    : !probe.cluster.inClusterDatabaseUrl
      ? 'PODLINE_E2E_IN_CLUSTER_DATABASE_URL is not set (infra/cluster/test.sh sets it)'
      : !cliBuilt
        ? 'apps/cli/dist/main.js is missing (npm run build)'
        : undefined

const DEPLOYMENT = 'podline-worker'
const WORKER_LABEL = 'app.kubernetes.io/name=podline-worker'
const PIPELINE = deploymentPipeline.name
const INLINE = ['work-1', 'work-2', 'work-3', 'work-4']
const PODS = ['pod-1', 'pod-2']
const TASKS = [...INLINE, ...PODS, 'check']

describe.skipIf(why !== undefined)(
  title(
    'the shipped manifests in the cluster (infra/k8s/overlays/dev)',
    why ? { ok: false, reason: why } : probe,
  ),
  () => {
    const cluster = () => clusterOf(probe)
    const databaseUrl = () => cluster().inClusterDatabaseUrl ?? ''
    let apps: AppsV1Api
    let sql: postgres.Sql

    /** kubectl of the cluster's release, as the admin. */
    async function kubectl(...args: string[]): Promise<string> {
      const { kubeconfig, context } = cluster()
      const { stdout } = await promisify(execFile)(cluster().kubectl, [
        '--kubeconfig',
        kubeconfig,
        ...(context ? ['--context', context] : []),
        ...args,
      ])
      return stdout
    }

    beforeAll(async () => {
      const k8s = await import('@kubernetes/client-node')
      const kc = new k8s.KubeConfig()
      kc.loadFromFile(cluster().kubeconfig)
      if (cluster().context) kc.setCurrentContext(cluster().context as string)
      apps = kc.makeApiClient(k8s.AppsV1Api)
      sql = postgres(databaseUrl(), { max: 2, onnotice: () => {} })
      await kubectl('apply', '-k', cluster().deploymentOverlay ?? '')
    }, 120_000)

    afterAll(async () => {
      // What the overlay added; the namespaces, ServiceAccount and Role stay for the other files.
      const { worker } = cluster()
      await kubectl(
        ...['-n', worker.namespace, 'delete', '--ignore-not-found', '--wait=false'],
        ...[`deployment/${DEPLOYMENT}`, 'job/podline-migrate', 'pdb/podline-worker', 'secret/podline-db'],
      ).catch(() => '')
      await kubectl(
        ...['-n', worker.namespace, 'delete', 'configmap', '--wait=false'],
        ...['-l', 'app.kubernetes.io/component=pipelines'],
      ).catch(() => '')
      await kubectl(
        ...['-n', worker.tasksNamespace, 'delete', 'pods', '--wait=false'],
        ...['-l', `podline.dev/pipeline=${PIPELINE}`],
      ).catch(() => '')
      await sql?.end()
    })

    /** The worker pods' names and what their containers said, for a failure's message. */
    async function workerDiagnosis(): Promise<string> {
      const { core, worker } = cluster()
      const pods = await core.listNamespacedPod({ namespace: worker.namespace, labelSelector: WORKER_LABEL })
      const parts = await Promise.all(
        pods.items.map(async (pod) => {
          const name = pod.metadata?.name ?? ''
          const log = await core
            .readNamespacedPodLog({ name, namespace: worker.namespace, tailLines: 20 })
            .catch(() => '')
          return `${name}: ${JSON.stringify(pod.status?.containerStatuses?.[0]?.state)}\n${log}`
        }),
      )
      return parts.join('\n')
    }

    /** The Deployment when every replica runs its current template and is available, no old pod left. */
    async function rolledOut(): Promise<V1Deployment | undefined> {
      const { core, worker } = cluster()
      const d = await apps.readNamespacedDeployment({ name: DEPLOYMENT, namespace: worker.namespace })
      const want = d.spec?.replicas ?? 0
      const s = d.status
      if ((s?.observedGeneration ?? 0) < (d.metadata?.generation ?? 1)) return undefined
      if (s?.updatedReplicas !== want || s.availableReplicas !== want || s.replicas !== want) return undefined
      // Pods of the previous template are gone, not only terminating: their drains are over.
      const pods = await core.listNamespacedPod({ namespace: worker.namespace, labelSelector: WORKER_LABEL })
      return pods.items.length === want ? d : undefined
    }

    async function workerPods(): Promise<string[]> {
      const { core, worker } = cluster()
      const pods = await core.listNamespacedPod({ namespace: worker.namespace, labelSelector: WORKER_LABEL })
      return pods.items.map((p) => p.metadata?.name ?? '').sort()
    }

    /**
     * Every task of every run once: each task run succeeded on its first attempt, each inline task
     * ran its code once (one `executed by` line in its log), each pod task had one pod (kept by
     * `onFinish: keep_pod`), of attempt 1 and the one its task run names. Returns, per run, the
     * worker pods that executed its inline tasks.
     */
    async function expectEachTaskOnce(runIds: string[]): Promise<Map<string, Set<string>>> {
      const runs = await sql<{ id: string; state: string }[]>`
        select id::text, state from podline.runs where id = any(${runIds}::uuid[])`
      expect(runs.filter((r) => r.state !== 'success')).toEqual([])
      expect(runs).toHaveLength(runIds.length)

      const taskRuns = await sql<{ runId: string; task: string; state: string; attempt: number }[]>`
        select run_id::text as "runId", task, state, attempt
        from podline.task_runs where run_id = any(${runIds}::uuid[])`
      // The pod a pod task's attempt used, as its `pod_name` XCom recorded it.
      const podNames = await sql<{ runId: string; task: string; podName: string }[]>`
        select run_id::text as "runId", task, value #>> '{}' as "podName"
        from podline.xcoms where run_id = any(${runIds}::uuid[]) and key = 'pod_name'`
      expect(taskRuns).toHaveLength(runIds.length * TASKS.length)
      expect(
        taskRuns.filter((t) => t.state !== 'success' || t.attempt !== 1),
        'every task run succeeded on its first attempt',
      ).toEqual([])

      const executions = await sql<{ runId: string; task: string; message: string }[]>`
        select run_id::text as "runId", task, message from podline.task_logs
        where run_id = any(${runIds}::uuid[]) and message like 'executed by %'`
      const executed = new Map<string, string[]>()
      for (const e of executions)
        executed.set(`${e.runId}/${e.task}`, [...(executed.get(`${e.runId}/${e.task}`) ?? []), e.message])
      const byRun = new Map<string, Set<string>>()
      for (const runId of runIds) {
        byRun.set(runId, new Set())
        for (const task of INLINE) {
          const lines = executed.get(`${runId}/${task}`) ?? []
          if (lines.length !== 1) {
            // Why, in the failure: the task's events (a lease that lapsed names its worker) and
            // whether a worker container was restarted (its liveness probe) while it ran tasks.
            const events = await sql<
              { from: string; to: string; worker: string | null; message: string | null }[]
            >`
              select from_state as "from", to_state as "to", worker, message from podline.events
              where run_id = ${runId}::uuid and task = ${task} order by id`
            const { core, worker } = cluster()
            const pods = await core.listNamespacedPod({
              namespace: worker.namespace,
              labelSelector: WORKER_LABEL,
            })
            const restarts = pods.items.map(
              (p) => `${p.metadata?.name}: ${p.status?.containerStatuses?.[0]?.restartCount ?? 0} restart(s)`,
            )
            expect.fail(
              `${task} of run ${runId} executed ${lines.length} times (${lines.join('; ')}); its events: ${JSON.stringify(events)}; worker pods: ${restarts.join(', ')}`,
            )
          }
          byRun.get(runId)?.add(lines[0]?.slice('executed by '.length) ?? '')
        }
      }

      const { core, worker } = cluster()
      const pods = await core.listNamespacedPod({
        namespace: worker.tasksNamespace,
        labelSelector: `podline.dev/pipeline=${PIPELINE}`,
      })
      for (const runId of runIds)
        for (const task of PODS) {
          const mine = pods.items.filter(
            (p) =>
              p.metadata?.annotations?.['podline.dev/run-id'] === runId &&
              p.metadata.labels?.['podline.dev/task'] === task,
          )
          expect(mine, `one pod for ${task} of run ${runId}`).toHaveLength(1)
          expect(mine[0]?.metadata?.labels?.['podline.dev/attempt']).toBe('1')
          expect(podNames.find((t) => t.runId === runId && t.task === task)?.podName).toBe(
            mine[0]?.metadata?.name,
          )
        }
      return byRun
    }

    it('applies: the migration Job completes and both worker replicas become available', async () => {
      const { core, worker } = cluster()
      // The overlay's Secret names the database this file reads.
      const secret = await core.readNamespacedSecret({ name: 'podline-db', namespace: worker.namespace })
      const url = Buffer.from(secret.data?.url ?? '', 'base64').toString()
      expect(new URL(url).pathname).toBe(new URL(databaseUrl()).pathname)

      await kubectl(
        '-n',
        worker.namespace,
        'wait',
        '--for=condition=complete',
        'job/podline-migrate',
        '--timeout=180s',
      )
      await waitFor('the worker Deployment to roll out', rolledOut, 180_000).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${await workerDiagnosis()}`)
      })
      // Each replica is a registered, live worker.
      const pods = await workerPods()
      expect(pods).toHaveLength(2)
      const live = await waitFor('both replicas to register as workers', async () => {
        const rows = await sql<{ hostname: string }[]>`
          select hostname from podline.workers where stopped_at is null and heartbeat_at > now() - interval '30 seconds'`
        const names = rows.map((r) => r.hostname).sort()
        return pods.every((p) => names.includes(p)) ? names : undefined
      })
      expect(live).toEqual(expect.arrayContaining(pods))
    }, 300_000)

    it('two replicas run the pipeline, inline and pod tasks, every task exactly once', async () => {
      const env = { DATABASE_URL: databaseUrl() }
      // Three runs at once: twelve 2-second inline tasks are more than one replica's four slots.
      const results = await Promise.all([1, 2, 3].map(() => triggerAndWait(PIPELINE, env)))
      expect(results.map((r) => r.state)).toEqual(['success', 'success', 'success'])
      const byRun = await expectEachTaskOnce(results.map((r) => r.runId))
      const executors = new Set([...byRun.values()].flatMap((s) => [...s]))
      expect([...executors].sort(), 'both replicas executed inline tasks').toEqual(await workerPods())
    }, 300_000)

    it('a rolling restart mid-run loses nothing: every run succeeds, each task exactly once', async () => {
      const { worker } = cluster()
      const before = await workerPods()
      const database = await openDatabase({ databaseUrl: databaseUrl(), poolSize: 1 })
      const runIds: string[] = []
      try {
        const trigger = async () => runIds.push(await triggerPipeline(database, deploymentPipeline, {}))
        for (let i = 0; i < 4; i++) await trigger()
        await waitFor('tasks of the first runs to run', async () => {
          const [r] = await sql<{ n: number }[]>`
            select count(*)::int as n from podline.task_runs
            where run_id = any(${runIds}::uuid[]) and state = 'running'`
          return (r?.n ?? 0) > 0 ? r : undefined
        })
        await kubectl('-n', worker.namespace, 'rollout', 'restart', `deployment/${DEPLOYMENT}`)
        // New runs keep coming while the replicas are replaced, one every two seconds.
        const deadline = Date.now() + 300_000
        while (!(await rolledOut())) {
          if (Date.now() > deadline) throw new Error(`the rollout did not finish\n${await workerDiagnosis()}`)
          await trigger()
          await sleep(2000)
        }
      } finally {
        await database.close()
      }
      const after = await workerPods()
      expect(
        after.filter((p) => before.includes(p)),
        'every replica was replaced',
      ).toEqual([])

      await waitFor(
        `the ${runIds.length} runs to end`,
        async () => {
          const [r] = await sql<{ open: number }[]>`
            select count(*)::int as open from podline.runs
            where id = any(${runIds}::uuid[]) and state in ('queued', 'running')`
          return r?.open === 0 ? r : undefined
        },
        240_000,
      )
      await expectEachTaskOnce(runIds)
      // The restart happened mid-run: some run had tasks claimed by a replaced replica and by a new
      // one (a worker's id starts with its pod's name).
      const claims = await sql<{ runId: string; worker: string }[]>`
        select distinct run_id::text as "runId", worker from podline.events
        where run_id = any(${runIds}::uuid[]) and task is not null and to_state = 'running'`
      const of = (pods: string[], runId: string) =>
        claims.some((c) => c.runId === runId && pods.some((p) => c.worker.startsWith(`${p}-`)))
      const spanning = runIds.filter((id) => of(before, id) && of(after, id))
      expect(spanning.length, 'runs whose tasks old and new replicas claimed').toBeGreaterThan(0)
    }, 600_000)
  },
)
