import { runLocal } from '@podline/runner'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'

describe('task logs in batches', () => {
  const db = useFreshDatabase()

  const stored = async (runId: string, task: string) => {
    const [row] = await db.database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.task_logs where run_id = ${runId}::uuid and task = ${task}`,
    )
    return row?.n
  }

  it('a task logging 20,000 lines at once stores 20,000 lines (over 65,535 parameters in one batch)', async () => {
    let runId = ''
    const chatty = pipeline('chatty').task('talk', (_inputs, ctx) => {
      for (let i = 0; i < 20_000; i++) ctx.log.info(`line ${i}`)
      return 'said'
    })
    await runLocal(chatty, {}, { database: db.database, onRun: (id) => (runId = id) })
    expect(await stored(runId, 'talk')).toBe(20_000)
  })

  it("one task's unstorable line drops neither its other lines nor another task's lines in the same batch", async () => {
    let runId = ''
    const mixed = pipeline('mixed')
      .task('clean', (_inputs, ctx) => {
        for (let i = 0; i < 100; i++) ctx.log.info(`clean ${i}`)
        return null
      })
      .task('dirty', (_inputs, ctx) => {
        for (let i = 0; i < 100; i++) ctx.log.info(i === 50 ? 'nul \u0000 here' : `dirty ${i}`)
        return null
      })
    await runLocal(mixed, {}, { database: db.database, onRun: (id) => (runId = id) })
    expect(await stored(runId, 'clean')).toBe(100)
    expect(await stored(runId, 'dirty')).toBe(100)
  })
})
