import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { SignalError, signalWait, triggerPipeline, Worker } from '../index.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

const approval = pipeline('approve-report', { params: z.object({ day: z.string() }) })
  .task('report', async (_in, { params }) => ({ rows: 3, day: params.day }))
  .wait('approval', {
    needs: ['report'],
    signal: z.object({ approved: z.boolean(), by: z.string() }),
    timeout: '2s',
  })
  .task('publish', { needs: ['approval', 'report'] }, ({ approval, report }) => {
    expectTypeOf(approval).toEqualTypeOf<{ approved: boolean; by: string }>()
    return approval.approved ? `${report.rows} rows of ${report.day}, approved by ${approval.by}` : 'held'
  })

const napping = pipeline('napping')
  .wait('pause', { sleep: '300ms' })
  .task('after', { needs: ['pause'] }, ({ pause }) => {
    expectTypeOf(pause).toEqualTypeOf<null>()
    return pause === null ? 'woke' : 'odd'
  })

describe('waits', () => {
  const db = useFreshDatabase()
  let worker: Worker
  beforeAll(async () => {
    worker = new Worker({
      database: db.database,
      pipelines: [approval, napping],
      pollMs: 200,
      leaseThread: false,
    })
    await worker.start()
  })
  afterAll(() => worker.stop())

  const taskStates = async (runId: string) =>
    Object.fromEntries(
      (
        await db.database.rows<{ task: string; state: string; error: string | null }>(
          sql`select task, state, error from podline.task_runs where run_id = ${runId}::uuid order by id`,
        )
      ).map((t) => [t.task, t.error ? `${t.state}: ${t.error}` : t.state]),
    )
  const untilRunEnds = (runId: string) =>
    waitUntil(
      'the run to end',
      async () => {
        const [row] = await db.database.rows<{ state: string }>(
          sql`select state from podline.runs where id = ${runId}::uuid`,
        )
        return row?.state === 'success' || row?.state === 'failed'
      },
      20_000,
    )

  it('a step waits, holding no slot, for a signal whose payload its schema checks; downstream gets it typed', async () => {
    const runId = await triggerPipeline(db.database, approval, { day: '2026-12-06' })
    await waitUntil('the step to wait', async () => (await taskStates(runId)).report === 'success')
    // Waiting: queued for no worker, and nothing holds it.
    const [held] = await db.database.rows<{ owner: string | null; state: string }>(
      sql`select lease_owner as owner, state from podline.task_runs where run_id = ${runId}::uuid and task = 'approval'`,
    )
    expect(held).toEqual({ owner: null, state: 'queued' })

    const refused = await signalWait(db.database, runId, 'approval', { approved: 'yes' }).catch(
      (e: unknown) => e,
    )
    expect(refused).toBeInstanceOf(SignalError)
    expect((refused as SignalError).message).toBe(
      `the payload for "approval" failed its schema: payload: must have required property 'by'; approved: must be boolean; the step keeps waiting`,
    )
    expect((await taskStates(runId)).approval).toBe('queued')

    await signalWait(db.database, runId, 'approval', { approved: true, by: 'ana' })
    await untilRunEnds(runId)
    const [out] = await db.database.rows<{ value: unknown }>(
      sql`select value from podline.xcoms where run_id = ${runId}::uuid and task = 'publish'`,
    )
    expect(out?.value).toBe('3 rows of 2026-12-06, approved by ana')
    await expect(signalWait(db.database, runId, 'approval', { approved: false, by: 'bob' })).rejects.toThrow(
      '"approval" is not waiting: it is success (a wait takes one signal)',
    )
    await expect(signalWait(db.database, runId, 'publish', {})).rejects.toThrow(
      '"publish" of approve-report is a task, not a wait: only a .wait step takes a signal',
    )
  })

  it('a step nobody signals fails at its timeout, and the trigger rules take it from there', async () => {
    const runId = await triggerPipeline(db.database, approval, { day: '2026-12-07' })
    await untilRunEnds(runId)
    expect(await taskStates(runId)).toEqual({
      report: 'success',
      approval: 'failed: waited 2s for a signal; none came (timeout)',
      publish: 'upstream_failed: an upstream task failed',
    })
  })

  it('a sleep ends by itself, with null, and takes no signal', async () => {
    const runId = await triggerPipeline(db.database, napping, {})
    await expect(signalWait(db.database, runId, 'pause', null)).rejects.toThrow(
      '"pause" of napping is a sleep: it ends by itself and takes no signal',
    )
    await untilRunEnds(runId)
    expect(await taskStates(runId)).toEqual({ pause: 'success', after: 'success' })
  })

  it('a wait is refused when defined wrong, naming the fix', () => {
    expect(() => pipeline('p').wait('w', {})).toThrow(
      'wait "w": give either signal (a schema of the payload it waits for) or sleep (a duration), not neither',
    )
    expect(() => pipeline('p').wait('w', { sleep: '1h', timeout: '2h' })).toThrow(
      'wait "w": a sleep ends by itself; leave timeout out',
    )
    expect(() => pipeline('p').wait('w', { signal: z.string().transform((s) => s.length) })).toThrow(
      `wait "w": the signal's schema has no JSON Schema (Transforms cannot be represented in JSON Schema); a transform or a custom check cannot be checked by podline signal`,
    )
  })
})
