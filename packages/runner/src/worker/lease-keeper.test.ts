import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net'
import { openFreshDatabase, waitUntil } from '@podline/runner/testing'
import { sql } from 'drizzle-orm'
import { expect, it } from 'vitest'
import { registerWorker, type WorkerRecord } from '../queue/workers.js'
import { openDatabase } from '../store/database.js'
import { startLeaseKeeper } from './lease-keeper.js'

/** Blocks this thread's event loop, as a task's synchronous CPU work does. */
function spin(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {}
}

it('the lease thread loads from its own file and renews while the main thread is blocked', async () => {
  const { database, close } = await openFreshDatabase()
  const worker: WorkerRecord = {
    id: 'lease-thread-check',
    hostname: 'test',
    pid: process.pid,
    versions: [],
    concurrency: 1,
    leaseMs: 3000,
  }
  const logs: string[] = []
  try {
    await registerWorker(database, worker)
    const keeper = await startLeaseKeeper({
      database,
      worker,
      heartbeatMs: 100,
      log: (level, message) => logs.push(`${level}: ${message}`),
      onLost: () => {},
    })
    try {
      expect(keeper.mode).toBe('thread')
      await new Promise((r) => setTimeout(r, 300))
      spin(2000)
      // Read before any timer of this thread has run: only the thread can have renewed meanwhile.
      const [row] = await database.rows<{ age: number }>(
        sql`select (extract(epoch from clock_timestamp() - heartbeat_at) * 1000)::float8 as age
            from podline.workers where id = ${worker.id}`,
      )
      expect(row?.age).toBeLessThan(1000)
    } finally {
      await keeper.stop()
    }
    expect(logs).toEqual([])
  } finally {
    await close()
  }
})

/**
 * A TCP proxy to PostgreSQL whose `freeze` silences the connections open then, in both directions,
 * without closing them: a peer that vanished, as a network whose route changed under it. New
 * connections pass.
 */
async function freezingProxy(target: URL): Promise<{ url: string; freeze(): void; close(): Promise<void> }> {
  const open = new Set<{ client: Socket; upstream: Socket; frozen: boolean }>()
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) })
    const link = { client, upstream, frozen: false }
    open.add(link)
    client.on('data', (chunk) => void (link.frozen || upstream.write(chunk)))
    upstream.on('data', (chunk) => void (link.frozen || client.write(chunk)))
    const end = () => {
      open.delete(link)
      client.destroy()
      upstream.destroy()
    }
    for (const s of [client, upstream]) s.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = new URL(target)
  url.hostname = '127.0.0.1'
  url.port = String((server.address() as AddressInfo).port)
  return {
    url: url.toString(),
    freeze() {
      for (const link of open) link.frozen = true
    },
    close() {
      for (const link of open) {
        link.client.destroy()
        link.upstream.destroy()
      }
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

it('drops a renewal that gets no answer at its deadline and renews on a new connection', async () => {
  const fresh = await openFreshDatabase()
  const proxy = await freezingProxy(new URL(fresh.url))
  const database = await openDatabase({ databaseUrl: proxy.url, poolSize: 2 })
  const worker: WorkerRecord = {
    id: 'lease-thread-frozen',
    hostname: 'test',
    pid: process.pid,
    versions: [],
    concurrency: 1,
    leaseMs: 3000,
  }
  const logs: string[] = []
  const heartbeatAt = async () => {
    const [row] = await fresh.database.rows<{ at: number }>(
      sql`select (extract(epoch from heartbeat_at) * 1000)::float8 as at from podline.workers where id = ${worker.id}`,
    )
    return row?.at ?? 0
  }
  try {
    await registerWorker(database, worker)
    const keeper = await startLeaseKeeper({
      database,
      worker,
      heartbeatMs: 100,
      log: (level, message) => logs.push(`${level}: ${message}`),
      onLost: () => {},
    })
    try {
      expect(keeper.mode).toBe('thread')
      // Registration wrote the first heartbeat: a later one is the thread's, on its connection.
      const registered = await heartbeatAt()
      await waitUntil('a first renewal', async () => (await heartbeatAt()) > registered)
      proxy.freeze()
      const frozenAt = Date.now()
      // Renewals resume: the thread gave up on the silent connection and opened another.
      await waitUntil(
        'a renewal after the freeze',
        async () => (await heartbeatAt()) > frozenAt + 100,
        10_000,
      )
      await waitUntil(
        'the reconnection said',
        () => logs.some((l) => l.includes('got no answer in 200 ms: reconnecting')),
        10_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; logs: ${logs.join(' / ')}`)
      })
    } finally {
      await keeper.stop()
    }
  } finally {
    await database.close().catch(() => {})
    await proxy.close()
    await fresh.close()
  }
})
