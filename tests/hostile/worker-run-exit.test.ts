import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freshDatabase } from '@podline/runner/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url))
const QUITTER = fileURLToPath(new URL('./fixtures/worker-exits.ts', import.meta.url))

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

describe('process.exit() from a task during podline run', () => {
  let url: string
  let drop: () => Promise<void>
  beforeAll(async () => {
    ;({ url, drop } = await freshDatabase())
  })
  afterAll(() => drop())

  it('never exits 0 with the run unfinished: the task fails with the call named', async () => {
    const r = await podline(['run', QUITTER], { DATABASE_URL: url })
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/task "quits" called process\.exit\(0\)/)
  })
})
