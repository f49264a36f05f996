import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runInVenv } from '../tests/python/python-venv.js'

const CLI = join(ROOT, 'apps/cli/dist/main.js')

/** `podline <args>` with the repository's venv first on PATH: the process runtime's `python3` is its. */
function podline(args: string[], env: Record<string, string | undefined> = {}) {
  return runInVenv(process.execPath, [CLI, ...args], { env, timeoutMs: 150_000 })
}

describe('examples/python-pod.ts: a Python pod task with the podline package and generated models', () => {
  // The embedded store, in a folder of the test's rather than the reader's .podline/.
  let store: Record<string, string | undefined>
  beforeAll(async () => {
    store = {
      PODLINE_DATA_DIR: await mkdtemp(join(tmpdir(), 'podline-python-pod-')),
      DATABASE_URL: undefined,
    }
  })
  afterAll(async () => {
    if (store?.PODLINE_DATA_DIR) await rm(store.PODLINE_DATA_DIR, { recursive: true, force: true })
  })

  it('hands the typed result of the Python pod to the task downstream', async () => {
    const { code, stdout, output } = await podline(
      ['run', 'examples/python-pod.ts', '--runtime', 'process'],
      store,
    )
    expect(code, output).toBe(0)
    const outputs = JSON.parse(stdout)
    expect(outputs.score).toEqual({ file: 'orders.csv', count: 3, total: 50, largest: 30 })
    // report read score.total and score.largest as the numbers the schema says they are.
    expect(outputs.report).toEqual({ line: 'orders.csv: 3 amounts, total 50', largest: 30 })
  }, 180_000)

  it('a NaN the script computes is refused by the Python side, with its path, before the worker reads anything', async () => {
    const { code, output } = await podline(
      ['run', 'examples/python-pod.ts', '--runtime', 'process', '--params', '{"amounts":["1","nan"]}'],
      store,
    )
    expect(code, output).toBe(1)
    expect(output).toContain(
      'podline.ResultError: the result of pod task "score": $.total is NaN, which JSON cannot carry',
    )
    // No file was written, so the worker never had a NaN to refuse as invalid JSON.
    expect(output).not.toMatch(/is not valid JSON/)
    expect(output).toMatch(/task report upstream failed/)
  }, 180_000)

  it('its models in examples/python/models are what podline codegen makes of the pipeline', async () => {
    const { code, output } = await podline([
      'codegen',
      'examples/python-pod.ts',
      '--python',
      'examples/python/models',
      '--check',
    ])
    expect(code, output).toBe(0)
    expect(output).toMatch(/the 3 files in examples\/python\/models are up to date/)
  }, 180_000)
})
