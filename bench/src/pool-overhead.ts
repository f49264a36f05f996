import { type DrainResult, drain } from './drain.js'
import { fixed } from './table.js'

export interface PoolOverhead {
  tasks: number
  workers: number
  /** Slots of the pool: more than the workers ever run at once, so it never holds a task back. */
  poolSlots: number
  /** Each measure `rounds` times, alternating (no pool, pool, no pool, …): the best of each is compared. */
  withoutPool: DrainResult[]
  withPool: DrainResult[]
  /** Best tasks/s with the pool over best tasks/s without: what the pool's accounting costs. */
  ratio: number
}

/**
 * The price of pools: the throughput drain (no-op tasks, `workers` processes of concurrency 8) with
 * every task in one pool of ample size, against the same tasks in no pool. Every claim then locks
 * the pool's row and counts its running task runs, and every completion wakes the pool's workers.
 */
export async function measurePoolOverhead(tasks = 4000, workers = 4, rounds = 3): Promise<PoolOverhead> {
  const poolSlots = 10_000
  const withoutPool: DrainResult[] = []
  const withPool: DrainResult[] = []
  // Alternated, so a busy moment of the machine weighs on both sides alike.
  for (let round = 0; round < rounds; round++) {
    withoutPool.push(await drain('podline', workers, tasks))
    withPool.push(await drain('podline', workers, tasks, { poolSlots }))
  }
  const best = (results: DrainResult[]) => Math.max(...results.map((r) => r.tasksPerSecond))
  return { tasks, workers, poolSlots, withoutPool, withPool, ratio: best(withPool) / best(withoutPool) }
}

export function poolOverheadRow(r: PoolOverhead): string[] {
  const rates = (results: DrainResult[]) => results.map((x) => fixed(x.tasksPerSecond)).join(', ')
  return [
    `throughput, ${r.workers} workers, every task in a pool of ${r.poolSlots} slots (tasks/s)`,
    fixed(Math.max(...r.withPool.map((x) => x.tasksPerSecond))),
    '',
    `${fixed(r.ratio, 2)}× the same tasks in no pool (runs: ${rates(r.withPool)} vs ${rates(r.withoutPool)}); commits/task ${fixed(r.withPool[0]?.commitsPerTask ?? Number.NaN, 2)} vs ${fixed(r.withoutPool[0]?.commitsPerTask ?? Number.NaN, 2)}`,
  ]
}
