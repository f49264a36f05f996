import { openDatabase, Worker } from '@podline/runner'
import { run } from 'graphile-worker'
import { quietLogger } from './databases.js'
import { GRAPHILE_PEERS, isGraphilePeer } from './graphile-peer.js'
import { graphilePool } from './graphile-pool.js'
import { benchPipelines, pooledSingle } from './pipelines.js'

/*
 * One benchmark worker process: a Podline Worker or a graphile-worker runner in one of its
 * configurations (KIND: podline, or a name in GRAPHILE_PEERS), on DATABASE_URL, CONCURRENCY tasks at
 * once. It prints `{"ready":true}` once it takes work, and on SIGTERM a line with when its first task
 * started, when its last ended, how many it ran and its peak RSS.
 */
const kind = process.env.KIND ?? 'podline'
if (kind !== 'podline' && !isGraphilePeer(kind))
  throw new Error(`KIND is ${kind}: expected podline or one of ${Object.keys(GRAPHILE_PEERS).join(', ')}`)
const url = process.env.DATABASE_URL
if (!url) throw new Error('DATABASE_URL is not set')
const concurrency = Number(process.env.CONCURRENCY ?? 8)

let first = Number.POSITIVE_INFINITY
let last = 0
let count = 0
const began = () => {
  if (first === Number.POSITIVE_INFINITY) first = Date.now()
}
const ended = () => {
  last = Date.now()
  count++
}

let stop: () => Promise<void>
if (!isGraphilePeer(kind)) {
  // The same pool size graphile-worker gets below: one connection per concurrent task, plus two.
  const database = await openDatabase({ databaseUrl: url, poolSize: concurrency + 2 })
  const worker = new Worker({
    database,
    // BENCH_POOL=1: the pooled pipeline too, whose pool the bench created before starting the workers.
    pipelines: process.env.BENCH_POOL === '1' ? [...benchPipelines, pooledSingle] : benchPipelines,
    concurrency,
    onAttempt: (e) => (e.type === 'started' ? began() : ended()),
  })
  await worker.start()
  stop = async () => {
    await worker.stop({ drainMs: 5000 })
    await database.close()
  }
} else {
  const peer = graphilePool(url, concurrency + 2)
  const runner = await run({
    pgPool: peer.pool,
    concurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    logger: quietLogger(),
    preset: GRAPHILE_PEERS[kind].preset,
    taskList: {
      noop: async () => {
        began()
      },
    },
  })
  runner.events.on('job:complete', ended)
  stop = async () => {
    await runner.stop()
    await peer.end()
  }
}
process.stdout.write(`${JSON.stringify({ ready: true })}\n`)

process.once('SIGTERM', async () => {
  await stop()
  const peakRssMb = process.resourceUsage().maxRSS / 1024
  process.stdout.write(`${JSON.stringify({ first, last, count, peakRssMb })}\n`)
  process.exit(0)
})
