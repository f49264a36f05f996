import { rmSync } from 'node:fs'
import { afterAll, expect, it } from 'vitest'
import { start, tempDir } from '../../../../apps/cli/src/__tests__/cli.js'
import { PIPELINES } from './harness.js'

const dataDir = tempDir()
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

it('podline run --ui serves the UI on the embedded store of the run, and keeps it up until Ctrl-C', async () => {
  const run = start(['run', PIPELINES, '--pipeline', 'ui-diamond', '--params', '{"rows":2}', '--ui', '0'], {
    env: { PODLINE_DATA_DIR: dataDir },
  })
  try {
    await run.waitFor(/the UI stays up at http:\/\/\S+ until Ctrl-C/)
    const url = run.output().match(/podline ui: (http:\/\/\S+)/)?.[1]
    const { runs } = (await (await fetch(`${url}/api/runs`)).json()) as {
      runs: { id: string; state: string }[]
    }
    expect(runs).toMatchObject([{ state: 'success' }])
    const detail = (await (await fetch(`${url}/api/runs/${runs[0]?.id}`)).json()) as {
      tasks: { state: string }[]
    }
    expect(detail.tasks.map((t) => t.state)).toEqual(['success', 'success', 'success', 'success'])
    expect((await fetch(`${url}/`)).status).toBe(200)
    run.child.kill('SIGINT')
    expect(await run.exited, run.output()).toBe(0)
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL')
  }
})
