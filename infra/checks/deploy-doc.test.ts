import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ENVIRONMENT } from '@podline/worker/config'
import { expect, it } from 'vitest'
import { REPO_ROOT } from './support/repo.js'

// docs/deploy.md is what an operator copies from: its paths must exist and its variables must be
// the ones the worker reads.

const doc = readFileSync(join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8')

it('every infra/ path in docs/deploy.md exists', () => {
  const paths = new Set([...doc.matchAll(/\binfra\/[\w./-]*[\w]/g)].map((m) => m[0]))
  expect(paths.size).toBeGreaterThan(5)
  expect([...paths].filter((p) => !existsSync(join(REPO_ROOT, p)))).toEqual([])
})

it('every PODLINE_ variable in docs/deploy.md is one the configuration schema reads', () => {
  const names = new Set([...doc.matchAll(/\bPODLINE_[A-Z_]+\b/g)].map((m) => m[0]))
  expect(names.size).toBeGreaterThan(5)
  expect([...names].filter((n) => !(n in ENVIRONMENT.shape))).toEqual([])
})
