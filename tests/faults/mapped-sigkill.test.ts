import { freshDatabase } from '@podline/runner/testing'
import { describe, expect, it } from 'vitest'
import { MAPPED_ITEMS, mapped } from './fixtures/pipelines.js'
import { connect, sideEffectFolder, sleep } from './support/harness.js'
import { spawnWorker, type WorkerProcess } from './support/worker-process.js'

describe('a worker killed with SIGKILL while a mapped task expands and while its items run', () => {
  it('creates the items once, runs each to one success, and hands downstream the whole array in order', async () => {
    const db = await freshDatabase('podline_fault_mapped')
    const side = sideEffectFolder()
    const client = await connect(db.url)
    const env = { DATABASE_URL: db.url, SIDE_FILE: side.file, LEASE_MS: '1500', CONCURRENCY: '2' }
    const pool: WorkerProcess[] = [spawnWorker(env), spawnWorker(env)]
    try {
      await Promise.all(pool.map((w) => w.until((l) => l.type === 'ready')))
      const runId = await client.trigger(mapped, { ms: 300 })
      // The mapped task's own attempt is busy in `over`: kill its worker inside the expansion.
      const expanding = (l: { type: string; runId?: string; task?: string; mapIndex?: number }) =>
        l.type === 'started' && l.runId === runId && l.task === 'each' && l.mapIndex === undefined
      const first = await Promise.any(pool.map((w) => w.until(expanding, 30_000).then(() => w)))
      await sleep(100)
      first.kill('SIGKILL')
      pool.push(spawnWorker(env))
      // Then kill a worker running an item.
      const item = (l: { type: string; runId?: string; mapIndex?: number }) =>
        l.type === 'started' && l.runId === runId && l.mapIndex === 4
      const live = pool.filter((w) => w !== first)
      const second = await Promise.any(live.map((w) => w.until(item, 30_000).then(() => w)))
      await sleep(150)
      second.kill('SIGKILL')
      pool.push(spawnWorker(env))
      await client.waitForRuns([runId], 60_000)

      const [run] = await client.sql<
        { state: string }[]
      >`select state from podline.runs where id = ${runId}::uuid`
      expect(run?.state).toBe('success')
      const items = await client.sql<{ map_index: number; state: string }[]>`
        select map_index, state from podline.task_runs where run_id = ${runId}::uuid and task = 'each' and map_index >= 0
        order by map_index`
      expect(items.map((i) => i.map_index)).toEqual(Array.from({ length: MAPPED_ITEMS }, (_, i) => i))
      expect(items.every((i) => i.state === 'success')).toBe(true)
      // The task's own row names its items; their values, in item order, are the output.
      const [out] = await client.sql<{ value: unknown }[]>`
        select value from podline.xcoms where run_id = ${runId}::uuid and task = 'each' and map_index = -1
          and key = 'return_value'`
      expect(out?.value).toEqual({ $podline: { items: MAPPED_ITEMS } })
      const values = await client.sql<{ value: number }[]>`
        select value from podline.xcoms where run_id = ${runId}::uuid and task = 'each' and map_index >= 0
          and key = 'return_value' order by map_index`
      expect(values.map((v) => v.value)).toEqual(Array.from({ length: MAPPED_ITEMS }, (_, i) => i * 10))
      const [sum] = await client.sql<{ value: number }[]>`
        select value from podline.xcoms where run_id = ${runId}::uuid and task = 'sum' and key = 'return_value'`
      expect(sum?.value).toBe(((MAPPED_ITEMS - 1) * MAPPED_ITEMS * 10) / 2)
      // The kill landed inside the expansion (its claim was taken over), which happened once.
      const [parent] = await client.sql<{ claims: number }[]>`
        select claims from podline.task_runs where run_id = ${runId}::uuid and task = 'each' and map_index = -1`
      expect(parent?.claims).toBe(2)
      const [expansions] = await client.sql<{ n: number }[]>`
        select count(*)::int as n from podline.events where run_id = ${runId}::uuid and task = 'each'
          and map_index is null and message like 'over returned %'`
      expect(expansions?.n).toBe(1)
    } finally {
      for (const w of pool) w.kill('SIGKILL')
      await Promise.all(pool.map((w) => w.exited))
      await client.close()
      side.remove()
      await db.drop()
    }
  }, 90_000)
})
