import { openFreshDatabase } from '@podline/runner/testing'
import { sql } from 'drizzle-orm'
import { expect, it } from 'vitest'
import { registerWorker, type WorkerRecord } from '../queue/workers.js'
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
