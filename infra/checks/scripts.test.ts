import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from './support/repo.js'

const KIND_DIR = join(REPO_ROOT, 'infra', 'kind')
const SIDECAR = join(REPO_ROOT, 'infra', 'images', 'sidecar', 'podline-sidecar.sh')

/** What each entry point must check before it touches anything. */
const PREREQUISITES: Record<string, string[]> = {
  'up.sh': ['docker', 'kind', 'kubectl'],
  'e2e.sh': ['kind', 'kubectl'],
  'down.sh': ['kind'],
}

// A PATH with bash and dirname only: every prerequisite is missing.
const bareBin = mkdtempSync(join(tmpdir(), 'podline-bare-path-'))
for (const program of ['bash', 'dirname']) {
  symlinkSync(
    execFileSync('bash', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim(),
    join(bareBin, program),
  )
}
afterAll(() => rmSync(bareBin, { recursive: true, force: true }))

describe('infra/kind scripts', () => {
  it.each(readdirSync(KIND_DIR).filter((f) => f.endsWith('.sh')))('%s passes bash -n', (script) => {
    const result = spawnSync('bash', ['-n', join(KIND_DIR, script)], { encoding: 'utf8' })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })

  it.each(Object.keys(PREREQUISITES))(
    '%s is strict and names every missing prerequisite in one line',
    (script) => {
      const path = join(KIND_DIR, script)
      expect(readFileSync(path, 'utf8')).toMatch(/^set -euo pipefail$/m)
      const result = spawnSync(join(bareBin, 'bash'), [path], { encoding: 'utf8', env: { PATH: bareBin } })
      expect(result.status).toBe(1)
      expect(result.stdout).toBe('')
      const missing = (PREREQUISITES[script] ?? []).join(' ')
      expect(result.stderr).toMatch(new RegExp(`^error: missing prerequisite\\(s\\): ${missing}[^\\n]*\\n$`))
    },
  )
})

it('the sidecar script passes sh -n', () => {
  const result = spawnSync('sh', ['-n', SIDECAR], { encoding: 'utf8' })
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
})
