import { describe, expect, it } from 'vitest'
import { chain } from './fixtures/pipelines.js'
import { withFaultTest } from './support/fault-test.js'
import { readSideEffects } from './support/side-effects.js'
import { spawnWorker } from './support/worker-process.js'

/*
 * A worker whose claims come back after their leases ran out: the database takes two seconds over
 * each of its claims (a trigger on the events the claim writes sleeps, for that worker only), while
 * its leases last a second and a half from the claim's start. The reconciler of a second worker
 * hands those task runs to that one. The slow worker must not start what it claimed once the lease
 * is gone, so every task runs exactly once. Before leases were counted per claim, the slow worker
 * ran each task it claimed, and the other worker ran it again. A claim that comes back lapsed makes
 * the slow worker wait before its next: without it, the slow worker took the runs it handed back
 * again and again (6 to 16 lapsed claims of a task run in a run of this test, now 2 or 3).
 */
describe('claims slower than the lease', () => {
  it('a worker never starts a task run whose lease ran out before it could start; each task runs once', async () => {
    await withFaultTest('podline_fault_slow', async ({ db, side, client, workers }) => {
      const env = {
        SIDE_FILE: side.file,
        LEASE_MS: '1500',
        RECONCILE_MS: '100',
        CONCURRENCY: '4',
        DATABASE_URL: db.url,
      }
      const slow = spawnWorker(env)
      workers.push(slow)
      const { id } = await slow.until((l) => l.type === 'ready')
      await client.sql.unsafe(`
        create function podline_test_slow_claim() returns trigger language plpgsql as $$
        begin
          if new.to_state = 'running' and new.worker = '${id}' then perform pg_sleep(2); end if;
          return new;
        end $$;
        create trigger slow_claim before insert on podline.events
          for each row execute function podline_test_slow_claim();`)
      const runIds = await client.triggerMany(chain, 4, { ms: 800 })
      const fast = spawnWorker({ ...env })
      workers.push(fast)
      await client.waitForRuns(runIds, 60_000)
      const runs = await client.sql<{ state: string }[]>`
        select state from podline.runs where id = any(${runIds}::uuid[])`
      expect(runs.map((r) => r.state)).toEqual(['success', 'success', 'success', 'success'])
      const claimedBySlow = await client.sql<{ n: number }[]>`
        select count(*)::int as n from podline.events where worker = ${id ?? ''} and to_state = 'running'`
      // The slow worker did claim (so the test exercised the late claims) ...
      expect(claimedBySlow[0]?.n).toBeGreaterThan(0)
      // ... handed back what came back lapsed, and waited before claiming again.
      expect(slow.stderr()).toMatch(
        /came back from a claim after their lease of 1500 ms ran out; handed back, claiming again in \d+ ms/,
      )
      const executions = new Map<string, number>()
      for (const e of readSideEffects(side.file).filter((s) => s.what === 'start')) {
        const key = `${e.runId} ${e.task}`
        executions.set(key, (executions.get(key) ?? 0) + 1)
      }
      // ... and yet no task ran twice.
      const twice = [...executions].filter(([, n]) => n > 1).map(([key, n]) => `${key} ran ${n} times`)
      expect(twice).toEqual([])
      expect(executions.size).toBe(4 * 3)
    })
  }, 120_000)
})
