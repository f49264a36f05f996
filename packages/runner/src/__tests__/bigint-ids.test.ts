import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { runLocal } from '../run-local.js'
import { useFreshDatabase } from '../testing/vitest.js'

/*
 * Regression: task run ids are bigserial, but the SQL cast them to ::int, so past 2^31 task runs
 * every claim failed with 22003 (integer out of range) and runLocal waited forever on a claim loop
 * that retried it as if the database were down.
 */
describe('task run ids past 2^31', () => {
  const db = useFreshDatabase()

  it('a pipeline runs to success with task run ids past 2^31', async () => {
    await db.database.rows(sql`alter sequence podline.task_runs_id_seq restart with 4294967296`)
    const p = pipeline('big-ids')
      .task('a', () => 1)
      .task('b', { needs: ['a'] }, ({ a }) => a + 1)
    expect(await runLocal(p, {}, { database: db.database })).toEqual({ a: 1, b: 2 })
    const [row] = await db.database.rows<{ id: string }>(
      sql`select max(id)::text as id from podline.task_runs`,
    )
    expect(BigInt(row?.id ?? 0)).toBeGreaterThan(2n ** 32n)
  })

  it('runLocal fails fast on a claim error no retry can fix instead of hanging', async () => {
    await db.database.rows(sql`alter table podline.xcoms rename column value to value_renamed`)
    try {
      const p = pipeline('unclaimable').task('a', () => 1)
      await expect(runLocal(p, {}, { database: db.database })).rejects.toThrow(
        /claiming its tasks failed: .*value/,
      )
    } finally {
      await db.database.rows(sql`alter table podline.xcoms rename column value_renamed to value`)
    }
  })
})
