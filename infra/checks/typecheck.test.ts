import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'
import { REPO_ROOT } from './support/repo.js'

// The kind suite only runs where a cluster exists, so compiling it is what keeps it in step with
// the runner's and the CLI's API everywhere else.
it('infra/ compiles under the strict base config (the e2e suite against the current runner API)', async () => {
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const result = await promisify(execFile)(
    process.execPath,
    [tsc, '-p', join(REPO_ROOT, 'infra', 'tsconfig.json')],
    {
      cwd: REPO_ROOT,
    },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }))
  expect(result.stdout).toBe('')
}, 120_000)
