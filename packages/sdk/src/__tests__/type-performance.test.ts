import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { ROOT as root, scratchDir, writeScratchProject } from './scratch-project.js'

const run = promisify(execFile)
const TASKS = 300

/**
 * The compiler's instantiation count for both generated pipelines together (sources of the SDK
 * included). Deterministic for a given TypeScript version, unlike time. Measured at about 1.48M
 * when this bound was set; the builder that merged one object type per task could not type-check
 * either pipeline at all (TS2589 past ~50 tasks).
 */
const MAX_INSTANTIATIONS = 2_000_000

/** t0 → t1 → … → t299, each reading the previous task's output. */
function chain(): string {
  const lines = [`  .task('t0', () => ({ n: 0 }))`]
  for (let i = 1; i < TASKS; i++) {
    lines.push(`  .task('t${i}', { needs: ['t${i - 1}'] }, ({ t${i - 1} }) => ({ n: t${i - 1}.n + 1 }))`)
  }
  return `import { type OutputsOf, pipeline, type RunOutputsOf } from '@podline/sdk'
export const p = pipeline('chain')
${lines.join('\n')}
export const last: OutputsOf<typeof p>['t${TASKS - 1}'] = { n: 1 }
export const all: RunOutputsOf<typeof p>['t0'] = { n: 0 }
// @ts-expect-error the last output is an object, not a number
export const wrong: OutputsOf<typeof p>['t${TASKS - 1}'] = 1
// @ts-expect-error a real duplicate is still refused after ${TASKS} tasks
p.task('t0', () => 1)
export const more = p.task('t${TASKS}', { needs: ['t0'] }, ({ t0 }) => t0.n)
`
}

/** t0 … t299 with no needs, then one task that needs all of them. */
function fanIn(): string {
  const tasks = Array.from({ length: TASKS }, (_, i) => `  .task('t${i}', () => ({ n: ${i} }))`)
  const needs = Array.from({ length: TASKS }, (_, i) => `'t${i}'`).join(', ')
  return `import { pipeline, type RunOutputsOf } from '@podline/sdk'
export const p = pipeline('fan-in')
${tasks.join('\n')}
  .task('sum', { needs: [${needs}] }, (inputs) => Object.values(inputs).reduce((a, b) => a + b.n, 0))
export const sum: RunOutputsOf<typeof p>['sum'] = 1
// @ts-expect-error the sum is a number
export const wrong: RunOutputsOf<typeof p>['sum'] = 'x'
`
}

describe(`a ${TASKS}-task pipeline`, () => {
  const dir = scratchDir('podline-type-performance')
  beforeAll(() => writeScratchProject(dir, { 'chain.ts': chain(), 'fan-in.ts': fanIn() }))

  it(`type-checks as a chain and as a fan-in (past 50 tasks: TS2589, then a false "a task named t49 already exists"), within ${MAX_INSTANTIATIONS} instantiations`, async () => {
    const tsc = join(root, 'node_modules', '.bin', 'tsc')
    const { stdout } = await run(tsc, ['-p', join(dir, 'tsconfig.json'), '--extendedDiagnostics'], {
      cwd: root,
    }).catch((e: { stdout: string }) => e)
    expect(stdout).not.toMatch(/error TS/)
    const instantiations = Number(/^Instantiations:\s+(\d+)$/m.exec(stdout)?.[1])
    expect(instantiations).toBeGreaterThan(0)
    expect(instantiations).toBeLessThan(MAX_INSTANTIATIONS)
  }, 180_000)
})
