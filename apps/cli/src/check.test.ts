import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { podline, ROOT } from './__tests__/cli.js'

// Inside the repository, so the files' @podline/* imports resolve as in a project that installed them.
const dir = join(ROOT, 'node_modules', '.cache', 'podline-check-test')
const GOOD = `import { pipeline } from '@podline/sdk'
export default pipeline('typed').task('a', async () => ({ n: 1 })).task('b', { needs: ['a'] }, async ({ a }) => a.n + 1)
`
const BAD = GOOD.replace('a.n + 1', 'a.m + 1')

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }')
  writeFileSync(join(dir, 'good.ts'), GOOD)
  writeFileSync(join(dir, 'bad.ts'), BAD)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// The compiler takes seconds of CPU per run: the tests that run it have room on a busy machine.
describe('podline check', () => {
  it("prints the compiler's errors as tsc does and exits 1; a file that type-checks is exit 0", async () => {
    const bad = await podline(['check', 'good.ts', 'bad.ts'], { cwd: dir })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(
      /^bad\.ts\(2,\d+\): error TS2339: Property 'm' does not exist on type '\{ n: number; \}'\.$/m,
    )
    expect(bad.stdout).not.toMatch(/good\.ts/)
    expect(bad.stderr).toMatch(
      /^podline check: 1 type error in good\.ts, bad\.ts \(TypeScript [\d.]+, @podline\/sdk\/tsconfig\.json\)$/m,
    )
    const good = await podline(['check', 'good.ts'], { cwd: dir })
    expect(good.code, good.stdout).toBe(0)
    expect(good.stdout).toBe('')
  }, 120_000)

  it('a file that does not exist is exit 2', async () => {
    const r = await podline(['check', 'missing.ts'], { cwd: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/the pipeline file missing\.ts does not exist/)
  })

  it('worker --check starts nothing when a file has a type error (exit 2)', async () => {
    const r = await podline(['worker', '--check', '*.ts'], { cwd: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/error TS2339/)
    expect(r.stderr).toMatch(
      /podline: 1 type error in bad\.ts, good\.ts \(TypeScript [\d.]+, @podline\/sdk\/tsconfig\.json\): nothing was run/,
    )
    expect(r.stdout).not.toMatch(/started on/)
  }, 120_000)
})
