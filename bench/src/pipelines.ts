import { type AnyPipeline, pipeline } from '@podline/sdk'

/*
 * The pipelines the benchmarks run. Chains and fans are built in loops, which the typed builder
 * cannot follow, so those go through a loose view of it; every task is a no-op returning a number.
 */

interface LooseBuilder {
  task(name: string, options: { needs: string[] }, fn: () => Promise<number>): LooseBuilder
}

const loose = (name: string) => pipeline(name) as unknown as LooseBuilder
const noop = async () => 1

/** One no-op task: N runs of it are N independent task runs. */
export const single = pipeline('bench-noop').task('noop', async () => 1)

/** The pool of the pool benchmark: the workers serving `pooledSingle` need it to exist. */
export const BENCH_POOL = 'bench'

/** The same no-op task taking one slot of BENCH_POOL: the price of the pool's accounting. */
export const pooledSingle = pipeline('bench-noop-pooled').task('noop', { pool: BENCH_POOL }, async () => 1)

/** A chain of `length` tasks, each needing the one before. */
export function chainOf(length: number): AnyPipeline {
  let p = loose(`bench-chain-${length}`).task('t0', { needs: [] }, noop)
  for (let i = 1; i < length; i++) p = p.task(`t${i}`, { needs: [`t${i - 1}`] }, noop)
  return p as unknown as AnyPipeline
}

/** One root, `width` tasks that need it, one task that needs them all. */
export function fanOf(width: number): AnyPipeline {
  let p = loose(`bench-fan-${width}`).task('root', { needs: [] }, noop)
  const middle = Array.from({ length: width }, (_, i) => `m${i}`)
  for (const name of middle) p = p.task(name, { needs: ['root'] }, noop)
  return p.task('join', { needs: middle }, noop) as unknown as AnyPipeline
}

/** `width` independent tasks: one run of it is `width` task runs queued at once. */
export function wideOf(width: number): AnyPipeline {
  let p = loose(`bench-wide-${width}`)
  for (let i = 0; i < width; i++) p = p.task(`w${i}`, { needs: [] }, noop)
  return p as unknown as AnyPipeline
}

export const CHAIN_LENGTH = 1000
export const FAN_WIDTH = 200

/** Every pipeline a benchmark worker must know. */
export const benchPipelines: AnyPipeline[] = [single, chainOf(CHAIN_LENGTH), fanOf(FAN_WIDTH)]

/** One pod task: N runs of it are N pods. Its command never runs (the double simulates containers). */
export const singlePod = pipeline('bench-pod').pod('work', {}, { image: 'alpine:3.20', command: ['true'] })
