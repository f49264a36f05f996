import { fileURLToPath } from 'node:url'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { describe, expect, it } from 'vitest'
import { podline } from '../../apps/cli/src/__tests__/cli.js'

const QUITTER = fileURLToPath(new URL('./fixtures/worker-exits.ts', import.meta.url))

describe('process.exit() from a task during podline run', () => {
  const db = useFreshDatabase()

  it('never exits 0 with the run unfinished: the task fails with the call named', async () => {
    const r = await podline(['run', QUITTER], { env: db.env })
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/task "quits" called process\.exit\(0\)/)
  })
})
