import { existsSync, readFileSync } from 'node:fs'
import { waitUntil } from '@podline/runner/testing'
import { describe, expect, it } from 'vitest'
import { doomed } from './fixtures/pipelines.js'
import { withFaultTest } from './support/fault-test.js'
import { spawnWorker } from './support/worker-process.js'

const RUNS = 1000

/*
 * 1,000 runs fail while two workers run their onFailure callbacks, and one of the workers is
 * SIGKILLed midway. Every run must get its callback recorded done exactly once (run_callbacks), and
 * the callbacks' own side effects must name every run. A kill can land inside a try, after its side
 * effect and before its end is recorded: that try runs again on the other worker (a callback runs
 * at least once and completes once), so the side effects may repeat by the tries the killed worker
 * held, never more.
 */
describe('onFailure with a worker killed', () => {
  it('1,000 failed runs, one worker SIGKILLed midway: 1,000 callbacks recorded done, every run called back', async () => {
    await withFaultTest('podline_fault_callbacks', async ({ db, side, client, workers }) => {
      const env = { DATABASE_URL: db.url, SIDE_FILE: side.file, LEASE_MS: '1500', CONCURRENCY: '8' }
      const doomedWorker = spawnWorker(env)
      workers.push(doomedWorker, spawnWorker(env))
      await Promise.all(workers.map((w) => w.until((l) => l.type === 'ready')))
      const began = Date.now()
      const runIds = await client.triggerMany(doomed, RUNS, {}, 16)
      const calledBack = () =>
        existsSync(side.file) ? readFileSync(side.file, 'utf8').split('\n').filter(Boolean) : []
      await waitUntil('a fifth of the callbacks', async () => calledBack().length >= RUNS / 5, 60_000)
      doomedWorker.kill('SIGKILL')
      await waitUntil(
        'every callback to be recorded',
        async () => {
          const [row] = await client.sql<{ n: number }[]>`
            select count(*)::int as n from podline.run_callbacks where state in ('success', 'failed')`
          return row?.n === RUNS
        },
        120_000,
      )
      const rows = await client.sql<{ state: string; n: number }[]>`
        select state, count(*)::int as n from podline.run_callbacks group by state`
      const lines = calledBack()
      const called = new Set(lines.map((l) => l.split(' ')[0]))
      console.info(
        `callbacks: ${RUNS} failed runs, ${lines.length} callback executions for ${called.size} runs, ` +
          `${Date.now() - began} ms with a worker killed`,
      )
      expect(rows).toEqual([{ state: 'success', n: RUNS }])
      expect([...called].sort()).toEqual([...runIds].sort())
      // At most the tries the killed worker held (four at once) ran twice.
      expect(lines.length - called.size).toBeLessThanOrEqual(4)
    })
  }, 240_000)
})
