import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runInVenv } from './python-venv.js'

const SDK = join(ROOT, 'sdks/python')
const EXAMPLE = join(ROOT, 'examples/python')

describe('the Python package (sdks/python), through the venv', () => {
  it('passes its pytest suite, the shared result vectors included', async () => {
    const { code, output } = await runInVenv('python', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], {
      cwd: SDK,
    })
    expect(code, output).toBe(0)
    expect(output).toMatch(/\d+ passed/)
    // The vectors are a test module of their own: a suite that skipped them would still pass.
    expect(output).not.toMatch(/skipped|deselected|no tests ran/)
  }, 240_000)

  it('is clean under mypy --strict, tests included', async () => {
    const { code, output } = await runInVenv('mypy', ['--strict', 'src', 'tests'], { cwd: SDK })
    expect(code, output).toBe(0)
  }, 240_000)

  it('types the example that uses generated models: mypy --strict on examples/python', async () => {
    const { code, output } = await runInVenv('mypy', ['--strict', '.'], { cwd: EXAMPLE })
    expect(code, output).toBe(0)
    expect(output).toMatch(/no issues found in \d+ source files/)
  }, 240_000)
})

/** The ```sh blocks of the Python section of docs/pods.md: the commands a reader copies. */
async function pythonSectionCommands(): Promise<string[]> {
  const guide = await readFile(join(ROOT, 'docs/pods.md'), 'utf8')
  const start = guide.indexOf('## Writing the image in Python')
  const end = guide.indexOf('\n## ', start + 1)
  const section = guide.slice(start, end === -1 ? undefined : end)
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
}

describe('docs/pods.md, "Writing the image in Python"', () => {
  let dataDir = ''
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'podline-python-docs-'))
  })
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true })
  })

  it('runs its commands as printed, from the repository root', async () => {
    const blocks = await pythonSectionCommands()
    expect(blocks.length).toBeGreaterThan(0)
    for (const block of blocks) {
      // `npx podline` is the CLI this checkout built; its embedded store goes to a folder of the test's.
      const { code, output } = await runInVenv('bash', ['-euo', 'pipefail', '-c', block], {
        env: { PODLINE_DATA_DIR: dataDir, DATABASE_URL: undefined },
        timeoutMs: 180_000,
      })
      expect(code, `${block}\n${output}`).toBe(0)
    }
  }, 240_000)
})
