import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ROOT as root,
  scratchDir,
  writeScratchProject,
} from '../packages/sdk/src/__tests__/scratch-project.js'

const run = promisify(execFile)

/** The ```ts blocks of a guide, so the examples a reader copies are the ones that compile and run. */
function examples(guide: string): string[] {
  const text = readFileSync(join(root, 'docs', guide), 'utf8')
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
}

// from-airflow.md's blocks are the files of examples/from-airflow, which examples.test.ts type-checks
// and runs; guide.test.ts holds each block to its file.
describe.each(['sdk.md', 'pods.md'])('docs/%s examples', (guide) => {
  const blocks = examples(guide)
  const dir = scratchDir(`podline-doc-examples/${guide.replace('.md', '')}`)
  let dataDir = ''

  beforeAll(() => {
    writeScratchProject(dir, Object.fromEntries(blocks.map((code, i) => [`example-${i + 1}.ts`, code])), {
      types: 'shipped',
    })
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
