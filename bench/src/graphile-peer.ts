import type { WorkerPoolOptions } from 'graphile-worker'

/*
 * The configurations graphile-worker runs in as the bench's peer, by the name a worker process gets
 * (KIND). `graphile` is its defaults: each worker of the pool fetches one job per query and completes
 * it in a statement of its own. `graphile-batched` turns on what 0.17 added for throughput, with the
 * values of graphile-worker's own performance page (worker.graphile.org/docs/performance): a local
 * queue the pool fills 500 jobs per query, and completions and failures batched (a delay of 0 sends
 * the ones that arrive in the same tick in one statement).
 */
export const GRAPHILE_PEERS = {
  graphile: { label: 'defaults', preset: { worker: {} } },
  'graphile-batched': {
    label: 'batched',
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  },
} as const satisfies Record<string, { label: string; preset: NonNullable<WorkerPoolOptions['preset']> }>

export type GraphilePeer = keyof typeof GRAPHILE_PEERS
export type System = 'podline' | GraphilePeer

export const isGraphilePeer = (kind: string | undefined): kind is GraphilePeer =>
  kind !== undefined && Object.hasOwn(GRAPHILE_PEERS, kind)
