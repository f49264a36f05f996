import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The ```ts blocks of a guide, so the examples a reader copies are the ones that compile and run. */
function examples(guide: string): string[] {
  const text = readFileSync(join(root, 'docs', guide), 'utf8')
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
}

// from-airflow.md's blocks are the files of examples/from-airflow, which examples.test.ts type-checks
// and runs; guide.test.ts holds each block to its file.
describe.each(['sdk.md', 'pods.md'])('docs/%s examples', (guide) => {
  const blocks = examples(guide)
  // Inside the repository, so the examples resolve @podline/* like a user's project does.
  const dir = join(root, 'node_modules', '.cache', 'podline-doc-examples', guide.replace('.md', ''))
  let dataDir = ''

  beforeAll(() => {
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }')
    for (const [i, code] of blocks.entries()) writeFileSync(join(dir, `example-${i + 1}.ts`), code)
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.base.json'),
        compilerOptions: { noEmit: true },
        include: ['*.ts'],
      }),
    )
    dataDir = mkdtempSync(join(tmpdir(), 'podline-docs-'))
  })
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('has examples', () => expect(blocks.length).toBeGreaterThan(0))

  it('type-checks every example', async () => {
    const result = await run('npx', ['tsc', '-p', join(dir, 'tsconfig.json')], { cwd: root }).catch(
      (e: { stdout: string }) => e,
    )
    expect('stdout' in result ? result.stdout : '').toBe('')
  })

  // Side by side: each example is its own process with its own embedded store.
  it.concurrent.each(blocks.map((_, i) => i + 1))('runs example %i', async (n) => {
    const { stderr } = await run(
      process.execPath,
      ['--conditions=@podline/source', '--import', 'tsx', join(dir, `example-${n}.ts`)],
      { cwd: dir, env: { ...process.env, PODLINE_DATA_DIR: join(dataDir, `store-${n}`), DATABASE_URL: '' } },
    )
    expect(stderr).not.toMatch(/Error/)
  })
})
