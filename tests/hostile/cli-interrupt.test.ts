import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  alive,
  podline,
  start,
  startRunning,
  tempDir,
  useCliDatabase,
  waitUntil,
} from '../../apps/cli/src/__tests__/cli.js'

const FIXTURE = join(import.meta.dirname, 'fixtures/cli-pipelines.ts')

const db = useCliDatabase()

describe('Ctrl-C on podline run', () => {
  it("the first SIGINT cancels the run, kills the process-runtime pod's processes, says so and exits 130", async () => {
    const pidFile = join(tempDir(), 'sleeper.pid')
    const run = start(
      [
        'run',
        FIXTURE,
        '--pipeline',
        'cli-sleepy-pod',
        '--runtime',
        'process',
        '--params',
        JSON.stringify({ pidFile }),
      ],
      { env: db.env },
    )
    const pid = await waitUntil(
      'the pod process to start',
      // A pid, not the 0 of a file still being written.
      () => (existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8'))) || undefined,
    )
    expect(alive(pid)).toBe(true)

    run.child.kill('SIGINT')
    expect(await run.exited, run.output()).toBe(130)
    expect(run.output()).toMatch(/SIGINT: cancelling run [0-9a-f-]{36}/)
    expect(run.output()).toMatch(
      /run [0-9a-f-]{36} of cli-sleepy-pod cancelled \(SIGINT\): its tasks were stopped/,
    )
    await waitUntil("the pod's process to be gone", () => !alive(pid), 10_000)

    const [row] = await db.sql`select id, state from podline.runs where pipeline = 'cli-sleepy-pod'`
    expect(row?.state).toBe('cancelled')
    const tasks = await db.sql`select state from podline.task_runs where run_id = ${row?.id}`
    expect(tasks.map((t) => t.state)).toEqual(['cancelled'])
  })

  it('a second SIGINT exits at once, without waiting for a task that ignores its signal', async () => {
    const run = await startRunning(FIXTURE, 'cli-stubborn', { env: db.env })
    run.child.kill('SIGINT')
    await run.waitFor(/SIGINT: cancelling run/)
    // The run is cancelled at once; what the second SIGINT skips is waiting for the task to let go.
    await waitUntil('the run to be cancelled', async () => {
      const [row] = await db.sql`select state from podline.runs where pipeline = 'cli-stubborn'`
      return row?.state === 'cancelled'
    })
    run.child.kill('SIGINT')
    expect(await run.exited, run.output()).toBe(130)
    expect(run.output()).toMatch(/SIGINT again: exiting without waiting for the run to stop/)
    const [task] = await db.sql`select t.state from podline.task_runs t join podline.runs r on r.id = t.run_id
      where r.pipeline = 'cli-stubborn'`
    expect(task?.state).toBe('cancelled')
  })
})

describe('a kill -9 of podline run on the embedded store', () => {
  it('marks the killed run failed the next time the store opens, saying the previous podline run was killed', async () => {
    const cwd = tempDir()
    const run = await startRunning(FIXTURE, 'cli-waiting', { cwd })
    run.child.kill('SIGKILL')
    await run.exited

    const list = await podline(['runs', '--json'], { cwd })
    expect(list.code, list.stderr).toBe(0)
    const [killed] = JSON.parse(list.stdout)
    expect(list.stderr).toContain(`run ${killed.id} was left running by a podline run that was killed`)
    expect(killed.state).toBe('failed')
    expect(killed.error).toMatch(/the previous podline run \(pid \d+\) was killed before this run ended/)

    const status = await podline(['status', killed.id], { cwd })
    expect(status.stdout).toMatch(/wait +failed/)
    // Said once: the store no longer holds a run to fail.
    const again = await podline(['runs'], { cwd })
    expect(again.stderr).not.toContain('was left running')
  })
})
