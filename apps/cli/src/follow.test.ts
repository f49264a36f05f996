import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freshDatabase } from '@podline/runner/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, FIXTURES, podline, type Running, start, tempDir } from './__tests__/cli.js'

/** The following verbs against a real worker and PostgreSQL: they end when the run ends. */
const GATED = join(FIXTURES, 'gated.ts')
let db: Awaited<ReturnType<typeof freshDatabase>>
let env: Record<string, string>
let worker: Running
const dir = tempDir()
let gates = 0

beforeAll(async () => {
  db = await freshDatabase()
  env = { DATABASE_URL: db.url }
  worker = start(['worker', GATED, '--concurrency', '2'], { env })
  await worker.waitFor(/started on/)
})
afterAll(async () => {
  if (worker?.child.exitCode === null) worker.child.kill('SIGKILL')
  await db?.drop()
})

/** Queues a gated run; `open()` lets its first task finish. */
async function gatedRun(fail = false) {
  const gate = join(dir, `gate-${++gates}`)
  const t = await podline(['trigger', 'gated', '--params', JSON.stringify({ gate, fail }), '--json'], { env })
  expect(t.code, t.stderr).toBe(0)
  const { runId } = JSON.parse(t.stdout) as { runId: string }
  return { runId, open: () => writeFileSync(gate, '') }
}

describe('logs -f', () => {
  it('prints lines as the tasks write them and ends with the run (exit 0 on success)', async () => {
    const { runId, open } = await gatedRun()
    const follow = start(['logs', runId, '-f'], { env })
    await follow.waitFor(/wait#1 INFO\s+waiting for the gate/)
    // Still following: the run has not ended, and what the task writes next has not happened.
    expect(follow.child.exitCode).toBeNull()
    expect(follow.output()).not.toContain('through the gate')
    open()
    expect(await follow.exited, follow.output()).toBe(0)
    const out = follow.output()
    expect(out).toMatch(/wait#1 INFO\s+through the gate[\s\S]*after#1 WARN\s+the last task/)
    expect(out).toContain(`run ${runId} success`)
  })

  it('of a run that fails ends with exit 1, the error escaped, one task only when asked', async () => {
    const { runId, open } = await gatedRun(true)
    const follow = start(['logs', runId, 'after', '--follow'], { env })
    const json = start(['logs', runId, '-f', '--json'], { env })
    await json.waitFor(/waiting for the gate/)
    open()
    expect(await follow.exited, follow.output()).toBe(1)
    expect(follow.output()).not.toContain('waiting for the gate')
    expect(follow.output()).toContain('after#1 WARN  the last task')
    expect(follow.output()).toContain('after#1 failed: the gate was a trap \\x1b[2J')
    expect(follow.output()).not.toContain('\x1b')
    expect(await json.exited, json.output()).toBe(1)
    const lines = json
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; task: string; message?: string; error?: string })
    expect(lines.map((l) => l.message ?? l.error)).toEqual([
      'waiting for the gate',
      'through the gate',
      'the last task',
      'the gate was a trap \x1b[2J',
    ])
    expect(lines.at(-1)).toMatchObject({ kind: 'error', task: 'after' })
  })
})

describe('status --watch', () => {
  it('prints a line per change when not on a terminal and ends with the run (exit 1 when it failed)', async () => {
    const { runId, open } = await gatedRun(true)
    const watch = start(['status', runId, '--watch'], { env })
    await watch.waitFor(/wait#1 queued → running|wait\s+running/)
    expect(watch.child.exitCode).toBeNull()
    open()
    expect(await watch.exited, watch.output()).toBe(1)
    const out = watch.output()
    expect(out).toMatch(/wait#1 running → success/)
    expect(out).toMatch(/after#1 running → failed: the gate was a trap \\x1b\[2J/)
    expect(out).not.toContain('\x1b')
    // It ends with the final table.
    expect(out).toMatch(new RegExp(`run ${runId} of gated@\\S+: failed in [\\s\\S]*after\\s+failed\\s+1/1`))
  })

  it('of a run that succeeds exits 0', async () => {
    const { runId, open } = await gatedRun()
    const watch = start(['status', runId.slice(0, 13), '-w'], { env })
    await watch.waitFor(/wait/)
    open()
    expect(await watch.exited, watch.output()).toBe(0)
    expect(watch.output()).toMatch(/after#1 running → success/)
  })

  it('on a terminal redraws the table in place as states change, then prints the final one', async () => {
    const { runId, open } = await gatedRun(true)
    // `script` gives the verb a terminal (a pty) for its stdout; -e passes the verb's exit code on.
    const watch = start(
      ['-qfec', `"${process.execPath}" "${CLI}" status ${runId} --watch`, '/dev/null'],
      { env, program: 'script' },
      [],
    )
    await watch.waitFor(/wait\s+running/)
    open()
    expect(await watch.exited, watch.output()).toBe(1)
    const out = watch.output()
    // Moved up over the previous drawing and cleared it: a redraw, not a line per change.
    const esc = '\x1b'
    expect(out).toMatch(new RegExp(`${esc}\\[\\d+A${esc}\\[0J`))
    expect(out).not.toMatch(/running → success/)
    expect(out).toMatch(/after\s+failed\s+1\/1\s+\S+\s+the gate was a trap \\x1b\[2J/)
    expect(out).not.toContain('\x1b[2J')
  })
})

describe('trigger --wait', () => {
  it('shows each task as it runs and names the task that failed the run with its error', async () => {
    const gate = join(dir, 'gate-trigger')
    const t = start(['trigger', 'gated', '--params', JSON.stringify({ gate, fail: true }), '--wait'], { env })
    await t.waitFor(/task wait started/)
    writeFileSync(gate, '')
    expect(await t.exited, t.output()).toBe(1)
    const out = t.output()
    expect(out).toMatch(/task wait succeeded in/)
    expect(out).toMatch(/task after failed after \S+: the gate was a trap \\x1b\[2J/)
    expect(out).toMatch(
      /run \S+ failed: task after failed \(attempt 1\/1\): the gate was a trap \\x1b\[2J; see: podline logs \S+ after/,
    )
  })

  it('--json names the failed task', async () => {
    const gate = join(dir, 'gate-json')
    writeFileSync(gate, '')
    const t = await podline(
      ['trigger', 'gated', '--params', JSON.stringify({ gate, fail: true }), '--wait', '--json'],
      { env },
    )
    expect(t.code, t.stderr).toBe(1)
    expect(JSON.parse(t.stdout)).toMatchObject({
      state: 'failed',
      error: 'the gate was a trap \x1b[2J',
      failedTask: { task: 'after', attempt: 1 },
    })
  })

  it('names the task that failed the run, not the first task that failed', async () => {
    const t = await podline(['trigger', 'gated-blame', '--wait'], { env })
    expect(t.code).toBe(1)
    expect(t.stdout).toMatch(
      /failed: task fatal failed \(attempt 1\/1\): fatal failure; see: podline logs \S+ fatal/,
    )
  })

  it('of a run that succeeds although a task failed says so and names the task, in text and JSON', async () => {
    const t = await podline(['trigger', 'gated-absorbed', '--wait'], { env })
    expect(t.code, t.stderr).toBe(0)
    expect(t.stdout).toMatch(/^run \S+ success\nrun \S+ succeeded, but 1 of its tasks did not: /m)
    expect(t.stdout).toMatch(/^ {2}absorbed: failed \(attempt 1\/1\): absorbed failure$/m)
    const json = await podline(['trigger', 'gated-absorbed', '--wait', '--json'], { env })
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({
      state: 'success',
      tasksNotSucceeded: [{ task: 'absorbed', state: 'failed', error: 'absorbed failure' }],
    })
  })
})

it('cancel and retry --json', async () => {
  const { runId, open } = await gatedRun(true)
  const cancelled = await podline(['cancel', runId, '--json'], { env })
  expect(cancelled.code, cancelled.stderr).toBe(0)
  expect(JSON.parse(cancelled.stdout)).toEqual({ runId, cancelled: true, state: 'cancelled' })
  const again = await podline(['cancel', runId, '--json'], { env })
  expect(again.code).toBe(1)
  expect(JSON.parse(again.stdout)).toEqual({ runId, cancelled: false, state: 'cancelled' })
  open()
  const retried = await podline(['retry', runId, '--json'], { env })
  expect(retried.code, retried.stderr).toBe(0)
  expect(JSON.parse(retried.stdout)).toEqual({ runId, queued: 2 })
  const follow = await podline(['logs', runId, '-f'], { env })
  expect(follow.code).toBe(1)
  expect(follow.stdout).toContain(`run ${runId} failed`)
})
