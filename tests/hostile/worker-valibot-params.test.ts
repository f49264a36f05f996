import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Database, runStatus, taskLogLines, triggerPlan, Worker } from '@podline/runner'
import { openFreshDatabase } from '@podline/runner/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnHostileWorker } from './fixtures/worker-child.js'
import { valibotParams } from './fixtures/worker-pipelines.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url))

function podline(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stderr.on('data', (d) => {
    stderr += d
  })
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  )
}

describe('params of a schema library that yields no JSON Schema', () => {
  let url: string
  let database: Database
  let close: () => Promise<void>
  beforeAll(async () => {
    ;({ url, database, close } = await openFreshDatabase())
  })
  afterAll(() => close())

  it('valibot params that fail fail the whole run before its first task runs, and trigger --wait prints why', async () => {
    expect(valibotParams.plan().paramsJsonSchema).toBeUndefined()
    const worker = spawnHostileWorker({ DATABASE_URL: url, LEASE_MS: '5000' })
    try {
      await worker.until((l) => l.type === 'ready')
      const r = await podline(['trigger', 'hostile-valibot', '--params', '{"date":5}', '--wait'], {
        DATABASE_URL: url,
      })
      expect(r.code, r.stderr).toBe(1)
      expect(r.stdout).toMatch(
        /run \S+ failed: .*params of run \S+ failed validation: date: Invalid type: Expected string but received 5/,
      )
      const runId = /run (\S+) failed/.exec(r.stdout)?.[1] ?? ''
      const status = await runStatus(database, runId)
      expect(status?.run.state).toBe('failed')
      // The tasks claimed failed on the params, once each, fatally; the rest never started; no task's code ran.
      expect(status?.tasks.map((t) => [t.task, t.state, t.attempt])).toEqual([
        ['first', 'failed', 1],
        ['second', 'failed', 1],
        ['last', 'upstream_failed', 0],
      ])
      expect(await taskLogLines(database, runId)).toEqual([])
    } finally {
      await worker.stop()
    }
  })

  it('tasks not yet claimed when the params fail end upstream_failed with the reason, and the run fails at once', async () => {
    const worker = new Worker({ database, pipelines: [valibotParams], concurrency: 1 })
    await worker.start()
    try {
      // As `podline trigger` does: from the stored plan, which has no JSON Schema to check against.
      const runId = await triggerPlan(database, valibotParams.plan(), { date: 7 })
      const deadline = Date.now() + 20_000
      let status = await runStatus(database, runId)
      while (status?.run.state === 'queued' || status?.run.state === 'running') {
        if (Date.now() > deadline) throw new Error('the run did not end')
        await new Promise((r) => setTimeout(r, 50))
        status = await runStatus(database, runId)
      }
      expect(status?.run.state).toBe('failed')
      expect(status?.tasks.map((t) => [t.task, t.state, t.attempt])).toEqual([
        ['first', 'failed', 1],
        ['second', 'upstream_failed', 0],
        ['last', 'upstream_failed', 0],
      ])
      expect(status?.tasks[1]?.error).toMatch(/params of run \S+ failed validation: date: Invalid type/)
    } finally {
      await worker.stop({ drainMs: 1000 })
    }
  })
})
