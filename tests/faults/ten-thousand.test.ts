import { describe, expect, it } from 'vitest'
import { diamond } from './fixtures/pipelines.js'
import { auditRuns } from './support/audit.js'
import { withFaultTest } from './support/fault-test.js'
import { spawnWorker } from './support/worker-process.js'

/*
 * 4 worker processes and 10,000 task runs: 2,000 runs of a five-task diamond (root → three in
 * parallel → join), so the queue sees claims, concurrent completions of siblings and promotions.
 * No task may run twice and none may be lost, by the events table and by the tasks' own side effects.
 */
describe('4 workers, 10,000 task runs', () => {
  it('runs each task exactly once', async () => {
    await withFaultTest('podline_fault_10k', async ({ db, side, client, workers }) => {
      const env = { DATABASE_URL: db.url, SIDE_FILE: side.file, CONCURRENCY: '8', LEASE_MS: '30000' }
      for (let i = 0; i < 4; i++) workers.push(spawnWorker(env))
      await Promise.all(workers.map((w) => w.until((l) => l.type === 'ready')))
      const began = Date.now()
      const runIds = await client.triggerMany(diamond, 2000)
      await client.waitForRuns(runIds, 240_000)
      const report = await auditRuns(client.sql, runIds, side.file)
      const perWorker = workers.map((w) => w.lines.filter((l) => l.type === 'finished').length)
      console.info(
        `10k: ${report.taskRuns} task runs, ${report.attempts} attempts, ${report.sideEffects} side effects, ` +
          `per worker ${perWorker.join('/')}, ${Date.now() - began} ms`,
      )
      expect(report.problems).toEqual([])
      expect(report.taskRuns).toBe(10_000)
      expect(report.attempts).toBe(10_000)
      expect(report.sideEffects).toBe(10_000)
    })
  }, 300_000)
})
