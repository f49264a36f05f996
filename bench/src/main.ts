import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { assetLatencyRow, measureAssetLatency } from './asset-latency.js'
import { cacheRerunRow, measureCacheRerun } from './cache-rerun.js'
import { measureClaimDepth } from './claim-depth.js'
import { measureCommitRate } from './commit-rate.js'
import { type DrainResult, drain } from './drain.js'
import { GRAPHILE_PEERS, type GraphilePeer } from './graphile-peer.js'
import { largeXComRows, measureLargeXComs } from './large-xcom.js'
import { measureLocalBreakdown } from './local-breakdown.js'
import { localRunRows, measureLocalRun } from './local-run.js'
import { measureFanout } from './map-fanout.js'
import { measurePlainFanout } from './plain-fanout.js'
import { measurePodPath } from './pod-path.js'
import { measurePoolOverhead, poolOverheadRow } from './pool-overhead.js'
import { serverFacts } from './server.js'
import { measureSignalLatency, signalLatencyRow } from './signal-latency.js'
import { measureStepLatency } from './step-latency.js'
import { fixed, formatTable } from './table.js'

/*
 * Every benchmark in one run, Podline side by side with graphile-worker on the same server, each on
 * fresh databases. Prints a table and writes bench/results/latest.json. About 11-16 minutes on 2 cores.
 */
const THROUGHPUT_TASKS = 4000
const SCALING_SIZES = [1_000, 10_000, 100_000]
/** A scaling size whose projected drain exceeds this is skipped (and reported as such). */
const SCALING_BUDGET_MS = 240_000
const PEERS = Object.keys(GRAPHILE_PEERS) as GraphilePeer[]
const FAN_WIDTHS = [1_000, 10_000] as const
/** A plain fan projected to take longer than this is stopped and reported as the projection. */
const FAN_BUDGET_MS = 180_000
const CLAIM_DEPTHS = [10_000, 1_000_000] as const

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
  for (const system of ['podline', ...PEERS] as const) {
    log(`throughput ${system}, ${workers} worker(s), ${THROUGHPUT_TASKS} tasks`)
    throughput.push(await drain(system, workers, THROUGHPUT_TASKS))
  }

log(`pools: ${THROUGHPUT_TASKS} tasks on 4 workers, in a pool of ample size and in none`)
const pools = await measurePoolOverhead(THROUGHPUT_TASKS)

log('signals: 10,000 runs waiting, 200 signals')
const signals = await measureSignalLatency(10_000)

log('assets: 200 events, one at a time, 2 workers')
const assets = await measureAssetLatency(2)

log('cache: a 100-task pipeline, then its re-run with every task a hit')
const cacheRerun = await measureCacheRerun()

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
log(`plain fan 1 → N → 1, N = ${FAN_WIDTHS.join(', ')}`)
const plainFanout = await guarded('plain fan', async () => {
  const out = []
  for (const width of FAN_WIDTHS) out.push(await measurePlainFanout(width, { budgetMs: FAN_BUDGET_MS }))
  return out
})
log(`claims with ${CLAIM_DEPTHS.join(', ')} task runs queued`)
const claimDepth = await guarded('claim depth', () => measureClaimDepth(CLAIM_DEPTHS))

const find = (system: string, workers: number) =>
  throughput.find((t) => t.system === system && t.workers === workers)
const rows: string[][] = []
for (const workers of [1, 4])
  for (const peer of PEERS) {
    const p = find('podline', workers)
    const g = find(peer, workers)
    if (p && g)
      rows.push([
        `throughput, ${workers} worker${workers > 1 ? 's' : ''}, peer ${GRAPHILE_PEERS[peer].label} (tasks/s)`,
        fixed(p.tasksPerSecond),
        fixed(g.tasksPerSecond),
        `${fixed(p.tasksPerSecond / g.tasksPerSecond, 2)}×; commits/task ${fixed(p.commitsPerTask, 2)} vs ${fixed(g.commitsPerTask, 3)}`,
      ])
  }
rows.push(poolOverheadRow(pools))
rows.push(signalLatencyRow(signals))
rows.push(assetLatencyRow(assets))
rows.push(cacheRerunRow(cacheRerun))
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
if ('failed' in plainFanout) rows.push(failedRow('plain fan 1 → N → 1', plainFanout))
else {
  const [small, large] = plainFanout
  if (small && large) {
    const n = (x: number) => x.toLocaleString('en-US')
    const lower = (f: typeof large) => (f.atLeast ? '≥ ' : '')
    const at = (f: typeof large) =>
      f.projectedMs === undefined
        ? fixed(f.msPerTask, 2)
        : `${lower(f)}${fixed(f.msPerTask, 1)} (stopped: ${n(f.done)} of ${n(f.width)} in ${fixed(f.ms / 1000)} s)`
    const notes = [
      `per-task cost at 10,000 is ${lower(large)}${fixed(large.msPerTask / small.msPerTask, 2)}× that at 1,000`,
    ]
    if (large.projectedMs !== undefined)
      notes.push(`10,000 projected ${lower(large)}${fixed(large.projectedMs / 1000)} s`)
    for (const f of plainFanout)
      if (f.triggerError)
        notes.push(
          `triggerPipeline refused ${n(f.width + 2)} tasks (${f.triggerError}): rows written in bulk`,
        )
    rows.push([
      'fan 1 → 1,000 → 1 / 1 → 10,000 → 1, plain tasks (ms per task)',
      `${at(small)} / ${at(large)}`,
      '',
      notes.join('; '),
    ])
  }
}
if ('failed' in claimDepth) rows.push(failedRow('claim with 10k / 1M queued', claimDepth))
else {
  const [shallow, deep] = claimDepth
  if (shallow && deep)
    rows.push([
      `claim of ${deep.limit}, 10k / 1M task runs queued (p50 / p99 ms)`,
      `${fixed(shallow.p50Ms, 1)} / ${fixed(shallow.p99Ms, 1)}; ${fixed(deep.p50Ms, 1)} / ${fixed(deep.p99Ms, 1)}`,
      '',
      `p99 at 1M is ${fixed(deep.p99Ms / shallow.p99Ms, 2)}× that at 10k (p50 ${fixed(deep.p50Ms / shallow.p50Ms, 2)}×); ${deep.claims} claims each, 1M queued in ${fixed(deep.fillMs / 1000, 1)} s`,
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
  `${JSON.stringify({ at: new Date().toISOString(), machine, commitRate, throughput, pools, signals, assets, cacheRerun, latency, scaling, local, localBreakdown, pods, largeXComs, fanout, plainFanout, claimDepth, table }, null, 2)}\n`,
)
