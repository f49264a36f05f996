import { join } from 'node:path'
import { triggerPipeline } from '@podline/runner'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { describe, expect, it } from 'vitest'
import { podline } from '../../apps/cli/src/__tests__/cli.js'
import { blame } from './fixtures/cli-pipelines.js'

const FIXTURE = join(import.meta.dirname, 'fixtures/cli-pipelines.ts')

const db = useFreshDatabase()

describe('what podline run reports', () => {
  it('shows skipped and upstream_failed tasks as what they were, not succeeded, and a retry with its real delay', async () => {
    const r = await podline(['run', FIXTURE, '--pipeline', 'cli-mixed'], { env: db.env })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/^task skipper skipped/m)
    expect(r.stderr).toMatch(/^task after upstream failed$/m)
    expect(r.stderr).toMatch(/^task final succeeded in /m)
    expect(r.stderr).not.toMatch(/^task (after|skipper) (succeeded|success)/m)
    // The retry is due 3 s after the failure (no jitter); the attempt itself took milliseconds.
    expect(r.stderr).toMatch(/^task flaky failed after \d+ms, retrying in (2\.\d|3)s: flaky failed once$/m)
    expect(JSON.parse(r.stdout)).toMatchObject({ final: 'ran anyway', flaky: 'second time lucky' })
  })

  it('the failure summary names the task that failed the run, not the first task that failed', async () => {
    const r = await podline(['run', FIXTURE, '--pipeline', 'cli-blame'], { env: db.env })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/of cli-blame failed: task "fatal" failed: fatal failure/)
    expect(r.stderr).toMatch(/podline logs [0-9a-f-]{36} fatal\n/)
  })
})

describe('operator verbs', () => {
  it('xcom of a failed task says it ended failed without pushing one, not "none yet"', async () => {
    const runs = JSON.parse(
      (await podline(['runs', '--json', '--pipeline', 'cli-blame'], { env: db.env })).stdout,
    )
    const x = await podline(['xcom', runs[0].id, 'fatal'], { env: db.env })
    expect(x.code).toBe(2)
    expect(x.stderr).toContain('it ended failed without pushing any; see why with `podline logs')
    expect(x.stderr).not.toContain('none yet')
  })

  it('runs --limit abc is exit 2 with a message, not ignored', async () => {
    const r = await podline(['runs', '--limit', 'abc'], { env: db.env })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--limit .*'abc' is invalid\. expected a whole number of at least 1/)
  })

  it('runs --state lists only the runs in that state; an unknown state is exit 2', async () => {
    const failed = JSON.parse(
      (await podline(['runs', '--state', 'failed', '--json'], { env: db.env })).stdout,
    )
    expect(failed.length).toBeGreaterThan(0)
    expect(failed.every((r: { state: string }) => r.state === 'failed')).toBe(true)
    const succeeded = JSON.parse(
      (await podline(['runs', '--state', 'success', '--json'], { env: db.env })).stdout,
    )
    expect(succeeded.map((r: { pipeline: string }) => r.pipeline)).toEqual(['cli-mixed'])
    const bad = await podline(['runs', '--state', 'done'], { env: db.env })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain(
      '--state done is not a run state; use one of queued, running, success, failed, cancelled',
    )
  })

  it('a unique run-id prefix is accepted wherever a run id is; an ambiguous one is exit 2 listing the matches', async () => {
    // 17 runs: two of them must share a first hex digit.
    const ids: string[] = []
    for (let i = 0; i < 17; i++) ids.push(await triggerPipeline(db.database, blame, {}))
    const shared = ids.find((id, i) => ids.some((other, j) => j !== i && other[0] === id[0]))?.[0]
    const group = ids.filter((id) => id[0] === shared)
    const ambiguous = await podline(['status', shared ?? ''], { env: db.env })
    expect(ambiguous.code).toBe(2)
    expect(ambiguous.stderr).toContain(`the run id prefix ${shared} matches more than one run`)
    for (const id of group ?? []) expect(ambiguous.stderr).toContain(id)

    const [id] = ids
    if (!id) throw new Error('no run')
    const prefix = id.slice(0, 13)
    const status = await podline(['status', prefix], { env: db.env })
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toContain(`run ${id} of cli-blame`)
    expect((await podline(['logs', prefix.toUpperCase()], { env: db.env })).code).toBe(0)
    expect((await podline(['xcom', prefix, 'fatal'], { env: db.env })).stderr).toContain(`run ${id} (`)
    const cancel = await podline(['cancel', prefix], { env: db.env })
    expect(cancel.stdout).toBe(`run ${id} cancelled\n`)
    const retry = await podline(['retry', prefix], { env: db.env })
    expect(retry.stdout).toMatch(new RegExp(`^run ${id}: `))
    const unknown = await podline(['status', 'zz'], { env: db.env })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('there is no run zz')
  })
})
