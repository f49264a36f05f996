import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ENVIRONMENT } from '@podline/runner/config'
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

it('every podline_ metric in docs/deploy.md is one the worker serves, and every one it serves is documented', () => {
  const metrics = readFileSync(join(REPO_ROOT, 'apps', 'worker', 'src', 'metrics.ts'), 'utf8')
  const served = new Set([...metrics.matchAll(/'(podline_[a-z_]+)'/g)].map((m) => m[1] ?? ''))
  const section = doc.slice(doc.indexOf('## Reading the metrics'), doc.indexOf('## Tracing'))
  const named = new Set(
    [...section.matchAll(/\bpodline_[a-z_]+\b/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')),
  )
  expect(served.size).toBeGreaterThan(5)
  expect([...named].filter((n) => !served.has(n))).toEqual([])
  expect([...served].filter((n) => !named.has(n))).toEqual([])
})
