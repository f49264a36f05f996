import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

// `npx podline` is the README's first command: npm must have linked the command on install, which it
// only does for an entry that exists before the build runs.
it('npm links the podline command, which runs the built CLI', async () => {
  const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'podline'), ['--version'], {
    cwd: ROOT,
  })
  expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
})
