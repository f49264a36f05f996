import { join } from 'node:path'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { expect, it } from 'vitest'
import { podline } from '../../apps/cli/src/__tests__/cli.js'

/*
 * A run is `success` when its leaf tasks succeed, as in Airflow, even when a task before them
 * failed (cli-mixed: `boom` fails, `after` cannot run, `final` runs anyway by its trigger rule).
 * Its summaries say so, and name those tasks.
 */
const PIPELINES = join(import.meta.dirname, 'fixtures/cli-pipelines.ts')

const db = useFreshDatabase()

it('a run that succeeds although tasks failed says so in run and status, listing the tasks that did not succeed', async () => {
  const env = db.env
  const r = await podline(['run', PIPELINES, '--pipeline', 'cli-mixed'], { env })
  expect(r.code, r.stderr).toBe(0)
  const said =
    /^run ([0-9a-f-]{36}) succeeded, but 2 of its tasks did not: a run's state is that of its last tasks \(those no other task needs\)/m
  expect(r.stderr).toMatch(said)
  expect(r.stderr).toMatch(/^ {2}boom: failed \(attempt 1\/1\): boom failed on purpose$/m)
  expect(r.stderr).toMatch(/^ {2}after: upstream failed$/m)
  // Skipped on purpose (TaskSkipped) and retried to success are not failures.
  expect(r.stderr).not.toMatch(/^ {2}(skipper|flaky|final):/m)

  const runId = said.exec(r.stderr)?.[1] ?? ''
  const s = await podline(['status', runId], { env })
  expect(s.code).toBe(0)
  expect(s.stdout).toMatch(/: success in .*\nrun \S+ succeeded, but 2 of its tasks did not/)
  expect(s.stdout).toMatch(/^ {2}boom: failed \(attempt 1\/1\): boom failed on purpose$/m)
})
