import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { podline, type Running, startRunning, tempDir } from '../../apps/cli/src/__tests__/cli.js'

/*
 * The embedded store admits one process: while `podline run` holds it, `logs -f` and
 * `status --watch` cannot open it, and must say how to follow the run instead.
 */
const PIPELINES = join(import.meta.dirname, 'fixtures/cli-pipelines.ts')
const held: Running[] = []
afterAll(async () => {
  for (const h of held) {
    h.child.kill('SIGKILL')
    await h.exited
  }
})

it('logs -f and status --watch against a store podline run holds point at run --ui and DATABASE_URL', async () => {
  const cwd = tempDir()
  held.push(await startRunning(PIPELINES, 'cli-waiting', { cwd }))
  for (const args of [
    ['logs', 'any-run', '-f'],
    ['status', 'any-run', '--watch'],
  ]) {
    const r = await podline(args, { cwd })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/is in use by another podline process \(pid \d+\)/)
    expect(r.stderr).toMatch(/start it with `podline run --ui`/)
    expect(r.stderr).toMatch(
      /PostgreSQL \(DATABASE_URL\) for both: then `podline logs -f` and `podline status --watch`/,
    )
    expect(r.stderr.trim().split('\n'), 'one line').toHaveLength(1)
  }
})
