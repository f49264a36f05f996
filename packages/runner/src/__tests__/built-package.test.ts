import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { expect, it } from 'vitest'

const db = useFreshDatabase({ prefix: 'built_runner' })

// The build bundles the runner into chunks (build.mjs); the files it loads by path at run time (its
// migrations, the lease thread's program) must still be found from there. Plain Node.js runs the
// fixture, so it imports the runner as published, from dist/.
it('the built runner migrates a database and renews leases from its thread while a task blocks the loop', async () => {
  const starts = join(mkdtempSync(join(tmpdir(), 'podline-built-')), 'starts')
  const fixture = fileURLToPath(new URL('./fixtures/blocking-task.mjs', import.meta.url))
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [fixture], {
    env: { ...process.env, DATABASE_URL: db.url, STARTS_FILE: starts, NODE_OPTIONS: '' },
    timeout: 30_000,
  })
  expect(stderr).toBe('')
  expect(JSON.parse(stdout)).toEqual({ spin: 'spun' })
  // A lease that lapsed during the block would have handed the task to a second attempt.
  expect(readFileSync(starts, 'utf8')).toBe('started\n')
})
