import { startKubeDouble } from '@podline/kube-double'
import { describe, expect, it } from 'vitest'
import { chain, podded } from './fixtures/pipelines.js'
import { auditRuns } from './support/audit.js'
import { withFaultTest } from './support/fault-test.js'
import { sleep } from './support/harness.js'
import { spawnWorker, type WorkerProcess } from './support/worker-process.js'

/*
 * SIGKILL a worker in the middle of a task, again and again, while other workers keep going. Each
 * case triggers a run, waits until some worker starts the case's target task, waits a varied delay
 * (so the kill lands early, midway or late in the task), kills
 * that worker and starts a replacement. The workers run one task at a time, so a kill interrupts
 * exactly the targeted attempt, and leases are 1.5 s so recovery is quick. Cases overlap: a kill
 * happens while earlier cases are still recovering.
 */

interface ChaosOptions {
  cases: number
  target: (i: number) => string
  delayMs: (i: number) => number
  env: Record<string, string>
  workers: number
  /** The test's workers: every worker chaos starts is added to it. */
  pool: WorkerProcess[]
}

async function chaos(
  o: ChaosOptions,
  trigger: () => Promise<string>,
): Promise<{ runIds: string[]; killed: number }> {
  const pool = o.pool
  const live = new Set<WorkerProcess>()
  const startOne = () => {
    const w = spawnWorker(o.env)
    pool.push(w)
    live.add(w)
    return w
  }
  for (let i = 0; i < o.workers; i++) startOne()
  await Promise.all([...live].map((w) => w.until((l) => l.type === 'ready')))
  const runIds: string[] = []
  let killed = 0
  for (let i = 0; i < o.cases; i++) {
    const runId = await trigger()
    runIds.push(runId)
    const task = o.target(i)
    const isTarget = (l: { type: string; runId?: string; task?: string }) =>
      l.type === 'started' && l.runId === runId && l.task === task
    // Whichever live worker takes the target task is the one to kill.
    const holder = await Promise.any([...live].map((w) => w.until(isTarget, 30_000).then(() => w)))
    await sleep(o.delayMs(i))
    holder.kill('SIGKILL')
    live.delete(holder)
    killed++
    startOne()
  }
  return { runIds, killed }
}

describe('a worker killed with SIGKILL mid-task', () => {
  it('inline tasks: every run completes, each execution’s side effects happen once, and kills spend no attempt', async () => {
    await withFaultTest('podline_fault_kill', async ({ db, side, client, workers }) => {
      const began = Date.now()
      const env = { DATABASE_URL: db.url, SIDE_FILE: side.file, LEASE_MS: '1500', CONCURRENCY: '1' }
      const result = await chaos(
        {
          cases: 20,
          workers: 3,
          pool: workers,
          env,
          target: (i) => ['a', 'b', 'c'][i % 3] ?? 'a',
          // 0 … 323 ms into a 400 ms task: early, midway and late in it.
          delayMs: (i) => (i * 17) % 340,
        },
        () => client.trigger(chain, { ms: 400 }),
      )
      await client.waitForRuns(result.runIds, 60_000)
      const report = await auditRuns(client.sql, result.runIds, side.file)
      console.info(
        `SIGKILL inline: ${result.killed} kills, ${report.runs} runs, ${report.attempts} attempts ` +
          `(${report.executions} executions) for ` +
          `${report.taskRuns} task runs, ${report.sideEffects} side effects, ${Date.now() - began} ms`,
      )
      expect(report.problems).toEqual([])
      expect(report.runs).toBe(20)
      // Each kill cut an execution short and cost a takeover, but no attempt: a dead worker spends
      // none of the task's retries.
      expect(report.executions).toBeGreaterThanOrEqual(report.taskRuns + result.killed)
      expect(report.attempts).toBe(report.taskRuns)
    })
  }, 120_000)

  it('pod tasks: no pod is created twice, the XCom is stored once', async () => {
    await withFaultTest('podline_fault_kill_pod', async ({ db, side, client, workers, defer }) => {
      const double = await startKubeDouble()
      defer(() => double.close())
      const began = Date.now()
      const env = {
        DATABASE_URL: db.url,
        SIDE_FILE: side.file,
        LEASE_MS: '1500',
        CONCURRENCY: '1',
        KUBECONFIG: double.kubeconfigPath,
      }
      const result = await chaos(
        {
          cases: 6,
          workers: 2,
          pool: workers,
          env,
          target: () => 'crunch',
          // Before the pod exists, while it starts, while it runs (0.4 s), around its end.
          delayMs: (i) => [0, 60, 150, 300, 500, 700][i] ?? 0,
        },
        () => client.trigger(podded),
      )
      await client.waitForRuns(result.runIds, 60_000)
      const report = await auditRuns(client.sql, result.runIds, side.file)
      const scheduled = new Map<string, number>()
      for (const e of double.events())
        if (e.reason === 'Scheduled') {
          const name = e.involvedObject.name ?? '?'
          scheduled.set(name, (scheduled.get(name) ?? 0) + 1)
        }
      const twice = [...scheduled].filter(([, n]) => n > 1)
      const xcoms = await client.sql<{ run_id: string; value: unknown; attempt: number }[]>`
        select x.run_id::text, x.value, x.attempt from podline.xcoms x
        join podline.task_runs t on t.run_id = x.run_id and t.task = x.task and t.attempt = x.attempt
        where x.task = 'crunch' and x.key = 'return_value'`
      console.info(
        `SIGKILL pod: ${result.killed} kills, ${report.attempts} attempts, ${scheduled.size} pods, ` +
          `${double.requests.count({ verb: 'create', resource: 'pods' })} pod creates, ${Date.now() - began} ms`,
      )
      expect(report.problems).toEqual([])
      expect(twice).toEqual([])
      // A taken-over attempt reads its pod before creating one: the double saw one create per pod.
      expect(double.requests.count({ verb: 'create', resource: 'pods' })).toBe(scheduled.size)
      expect(xcoms).toHaveLength(6)
      for (const x of xcoms) expect(x.value).toEqual({ rows: 3 })
    })
  }, 120_000)
})
