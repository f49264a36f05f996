import { triggerPipeline, Worker } from '@podline/runner'
import { waitUntil } from '@podline/runner/testing'
import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { podline, useCliDatabase } from './__tests__/cli.js'

const db = useCliDatabase()

const release = pipeline('release')
  .task('build', async () => ({ artifact: 'app-1.2.3.tgz' }))
  .wait('approval', {
    needs: ['build'],
    signal: z.object({ approved: z.boolean(), by: z.string(), note: z.string().default('none') }),
  })
  .task('ship', { needs: ['build', 'approval'] }, ({ build, approval }) =>
    approval.approved ? `${build.artifact} shipped, approved by ${approval.by} (${approval.note})` : 'held',
  )

describe('podline signal', () => {
  it("refuses a payload its schema refuses, with the schema's messages; takes a good one, defaults filled in", async () => {
    const worker = new Worker({
      database: db.database,
      pipelines: [release],
      pollMs: 200,
      leaseThread: false,
    })
    await worker.start()
    try {
      const runId = await triggerPipeline(db.database, release, {})
      await waitUntil('the step to wait', async () => {
        const [row] = await db.sql<{ state: string }[]>`
          select state from podline.task_runs where run_id = ${runId}::uuid and task = 'build'`
        return row?.state === 'success'
      })
      const bad = await podline(['signal', runId, 'approval', '--json', '{"approved":"yes"}'], {
        env: db.env,
      })
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain(
        `the payload for "approval" failed its schema: payload: must have required property 'by'; approved: must be boolean; the step keeps waiting.`,
      )
      const notJson = await podline(['signal', runId, 'approval', '--json', '{approved}'], { env: db.env })
      expect(notJson.code).toBe(2)
      expect(notJson.stderr).toContain('--json is not valid JSON')

      const good = await podline(
        ['signal', runId.slice(0, 8), 'approval', '--json', '{"approved":true,"by":"ana"}'],
        {
          env: db.env,
        },
      )
      expect(good).toMatchObject({
        code: 0,
        stdout: `run ${runId}: approval signalled; the tasks after it start now\n`,
      })
      await waitUntil('the run to succeed', async () => {
        const [row] = await db.sql<
          { state: string }[]
        >`select state from podline.runs where id = ${runId}::uuid`
        return row?.state === 'success'
      })
      const shipped = await podline(['xcom', runId, 'ship'], { env: db.env })
      expect(shipped.stdout).toContain('app-1.2.3.tgz shipped, approved by ana (none)')
      const again = await podline(['signal', runId, 'approval', '--json', '{"approved":false,"by":"bob"}'], {
        env: db.env,
      })
      expect(again.code).toBe(2)
      expect(again.stderr).toContain('"approval" is not waiting: it is success (a wait takes one signal).')
    } finally {
      await worker.stop()
    }
  })
})
