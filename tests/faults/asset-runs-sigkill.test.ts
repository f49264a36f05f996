import { emitAssetEvent } from '@podline/runner'
import { describe, expect, it } from 'vitest'
import { withFaultTest } from './support/fault-test.js'
import { sleep } from './support/harness.js'
import { spawnWorker, type WorkerProcess } from './support/worker-process.js'

/*
 * Runs made from asset events, with workers killed by SIGKILL while they make them. Each round
 * emits a batch of events at once (every worker serving the consumer wakes and races for its
 * cursors), waits a varied delay (so the kill lands before, during or after the pass that makes
 * the runs), kills one worker and starts another. Whatever a kill interrupts is rolled back whole:
 * in the end each event has made exactly one run.
 */
const ROUNDS = 8
const BATCH = 150

describe('runs from asset events under killed workers', () => {
  it('makes exactly one run per event while workers are killed mid-pass', async () => {
    await withFaultTest('podline_fault_assets', async ({ db, side, client, workers }) => {
      const env = { DATABASE_URL: db.url, SIDE_FILE: side.file, LEASE_MS: '1500', CONCURRENCY: '8' }
      const live = new Set<WorkerProcess>()
      const startOne = () => {
        const w = spawnWorker(env)
        workers.push(w)
        live.add(w)
        return w
      }
      for (let i = 0; i < 3; i++) startOne()
      await Promise.all([...live].map((w) => w.until((l) => l.type === 'ready')))
      // The consumer takes the events recorded from its first pass on.
      const deadline = Date.now() + 30_000
      while (
        (await client.sql`select 1 from podline.asset_cursors where pipeline = 'fault-ticked'`).length === 0
      ) {
        if (Date.now() > deadline) throw new Error('no worker made the consumer’s cursor in 30 s')
        await sleep(20)
      }
      const emitted: string[] = []
      /** Runs made so far when each kill landed: some kill must land while runs were still to make. */
      const atKill: number[] = []
      for (let round = 0; round < ROUNDS; round++) {
        const ids = await Promise.all(
          Array.from({ length: BATCH }, (_, i) =>
            emitAssetEvent(client.database, 'fault.ticks', { n: round * BATCH + i }),
          ),
        )
        emitted.push(...ids)
        await sleep((round * 7) % 40)
        const [made] = await client.sql<
          { n: number }[]
        >`select count(*)::int as n from podline.runs where pipeline = 'fault-ticked'`
        atKill.push(made?.n ?? 0)
        const victim = [...live][round % live.size] as WorkerProcess
        victim.kill('SIGKILL')
        live.delete(victim)
        startOne()
      }
      const total = emitted.length
      const until = Date.now() + 120_000
      for (;;) {
        const [row] = await client.sql<{ n: number; open: number }[]>`
          select count(*)::int as n, count(*) filter (where state in ('queued', 'running'))::int as open
          from podline.runs where pipeline = 'fault-ticked'`
        if (row && row.n >= total && row.open === 0) break
        if (Date.now() > until) throw new Error(`only ${row?.n} of ${total} runs after 120 s`)
        await sleep(100)
      }
      const runs = await client.sql<{ event: string; state: string }[]>`
        select asset_event_id::text as event, state from podline.runs where pipeline = 'fault-ticked'`
      expect(runs).toHaveLength(total)
      expect(new Set(runs.map((r) => r.event))).toEqual(new Set(emitted))
      expect(runs.filter((r) => r.state !== 'success')).toEqual([])
      // The kills were not all after the fact: at least one landed with runs still to make.
      expect(atKill.some((made, round) => made < (round + 1) * BATCH)).toBe(true)
    })
  }, 240_000)
})
