import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { measureCommitRate } from './commit-rate.js'
import { type DrainResult, drain } from './drain.js'
import { largeXComRows, measureLargeXComs } from './large-xcom.js'
import { measureLocalBreakdown } from './local-breakdown.js'
import { localRunRows, measureLocalRun } from './local-run.js'
import { measureFanout } from './map-fanout.js'
import { measurePodPath } from './pod-path.js'
import { serverFacts } from './server.js'
import { measureStepLatency } from './step-latency.js'
import { fixed, formatTable } from './table.js'

/*
 * Every benchmark in one run, Podline side by side with graphile-worker on the same server, each on
 * fresh databases. Prints a table and writes bench/results/latest.json. About 5-10 minutes on 2 cores.
 */
const THROUGHPUT_TASKS = 4000
const SCALING_SIZES = [1_000, 10_000, 100_000]
/** A scaling size whose projected drain exceeds this is skipped (and reported as such). */
const SCALING_BUDGET_MS = 240_000

const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? '?',
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  postgres: await serverFacts(),
}
log(`machine ${JSON.stringify(machine)}`)

log('commit rate (pgbench)')
const commitRate = await measureCommitRate()

const throughput: DrainResult[] = []
for (const workers of [1, 4])
  for (const system of ['podline', 'graphile'] as const) {
    log(`throughput ${system}, ${workers} worker(s), ${THROUGHPUT_TASKS} tasks`)
    throughput.push(await drain(system, workers, THROUGHPUT_TASKS))
  }

log('step latency')
const latency = await measureStepLatency()

const scaling: Array<DrainResult | { tasks: number; skipped: string }> = []
let rate = 0
for (const tasks of SCALING_SIZES) {
  const projected = rate > 0 ? (tasks / rate) * 1000 : 0
  if (projected > SCALING_BUDGET_MS) {
    scaling.push({ tasks, skipped: `projected ${fixed(projected / 1000)} s at ${fixed(rate)} tasks/s` })
    continue
  }
  log(`scaling: ${tasks} tasks on 4 workers`)
  const r = await drain('podline', 4, tasks)
  rate = r.tasksPerSecond
  scaling.push(r)
}

/**
 * A phase that leans on a subsystem of its own (the embedded store, the Kubernetes double) is
 * reported as failed in the table instead of ending the run, so the figures measured before it
 * are still written.
 */
async function guarded<T>(name: string, measure: () => T | Promise<T>): Promise<T | { failed: string }> {
  try {
    return await measure()
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    log(`${name} failed: ${message}`)
    return { failed: message }
  }
}
const failedRow = (name: string, r: { failed: string }) => [name, 'failed', '', r.failed.slice(0, 160)]

log('podline run examples/etl.ts')
const local = await guarded('local run', measureLocalRun)
const localBreakdown = await guarded('local run breakdown', measureLocalBreakdown)
log('pod path')
const pods = await guarded('pod path', measurePodPath)
log('large XComs')
const largeXComs = await guarded('large XComs', () => measureLargeXComs())
log('mapped task over 1,000 and 10,000 items')
const fanout = await guarded('fan-out', async () => [await measureFanout(1_000), await measureFanout(10_000)])

const find = (system: string, workers: number) =>
  throughput.find((t) => t.system === system && t.workers === workers)
const rows: string[][] = []
for (const workers of [1, 4]) {
  const p = find('podline', workers)
  const g = find('graphile', workers)
  if (p && g)
    rows.push([
      `throughput, ${workers} worker${workers > 1 ? 's' : ''} (tasks/s)`,
      fixed(p.tasksPerSecond),
      fixed(g.tasksPerSecond),
      `${fixed(p.tasksPerSecond / g.tasksPerSecond, 2)}×; commits/task ${fixed(p.commitsPerTask, 2)} vs ${fixed(g.commitsPerTask, 2)}`,
    ])
}
for (const l of latency.podline)
  rows.push([
    `step latency, ${l.shape} (p50 / p99 ms)`,
    `${fixed(l.p50Ms, 1)} / ${fixed(l.p99Ms, 1)}`,
    `${fixed(latency.graphile.p50Ms, 1)} / ${fixed(latency.graphile.p99Ms, 1)}`,
    'peer: add→start',
  ])
for (const s of scaling) {
  if ('skipped' in s) rows.push([`scaling ${s.tasks} tasks`, 'skipped', '', s.skipped])
  else
    rows.push([
      `scaling ${s.tasks} tasks, 4 workers (ms/task, peak RSS MB)`,
      `${fixed(s.ms / s.tasks, 2)}, ${fixed(s.peakRssMb)}`,
      '',
      `${fixed(s.tasksPerSecond)} tasks/s`,
    ])
}
if ('failed' in local) rows.push(failedRow('podline run examples/etl.ts', local))
else rows.push(...localRunRows(local))
if (!('failed' in localBreakdown))
  for (const { step, ms } of localBreakdown.steps)
    rows.push([`  podline run, warm: ${step} (ms)`, String(Math.round(ms)), '', ''])
if ('failed' in pods) rows.push(failedRow('pod task via the kube double', pods))
else
  rows.push([
    'pod task via the kube double (API requests, ms)',
    `${fixed(pods.requestsPerPod, 1)}, ${fixed(pods.msPerPod)}`,
    '',
    Object.entries(pods.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join('; '),
  ])
if ('failed' in largeXComs) rows.push(failedRow('100 MB XCom through a store', largeXComs))
else rows.push(...largeXComRows(largeXComs))
if ('failed' in fanout) rows.push(failedRow('mapped task fan-out', fanout))
else {
  const [small, large] = fanout
  if (small && large)
    rows.push([
      'mapped task, 1,000 / 10,000 items (ms per item; expansion ms)',
      `${fixed(small.msPerItem, 2)} / ${fixed(large.msPerItem, 2)}; ${fixed(small.expandMs)} / ${fixed(large.expandMs)}`,
      '',
      `per-item cost at 10,000 is ${fixed(large.msPerItem / small.msPerItem, 2)}× that at 1,000`,
    ])
}
const fastest = throughput
  .filter((t) => t.system === 'podline')
  .reduce((a, b) => (b.tasksPerSecond > a.tasksPerSecond ? b : a))
const best = fastest.tasksPerSecond
rows.push([
  'PostgreSQL commits/s, 1 / 8 clients (pgbench)',
  `${fixed(commitRate.oneClient)} / ${fixed(commitRate.eightClients)}`,
  '',
  `Podline best ${fixed(best)} tasks/s = ${fixed((best / commitRate.eightClients) * 100, 1)}% of it, ${fixed(1 / fastest.commitsPerTask, 2)} tasks per commit`,
])

const table = formatTable(['measure', 'Podline', 'graphile-worker', 'note'], rows)
process.stdout.write(
  `\n${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GB, PostgreSQL ${machine.postgres.version} ` +
    `(fsync ${machine.postgres.fsync}, synchronous_commit ${machine.postgres.synchronousCommit}), Node ${machine.node}\n\n${table}\n`,
)
const out = fileURLToPath(new URL('../results/', import.meta.url))
mkdirSync(out, { recursive: true })
writeFileSync(
  `${out}latest.json`,
  `${JSON.stringify({ at: new Date().toISOString(), machine, commitRate, throughput, latency, scaling, local, localBreakdown, pods, largeXComs, fanout, table }, null, 2)}\n`,
)
