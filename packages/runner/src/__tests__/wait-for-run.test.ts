import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { triggerPipeline, waitForRun } from '../index.js'
import { RUN_FINISHED_CHANNEL } from '../queue/sql-values.js'
import type { Database } from '../store/database.js'
import { useFreshDatabase } from '../testing/vitest.js'

const db = useFreshDatabase()

/**
 * The store, with each read of waitForRun's held back after the server answered it (`answered`)
 * until `open` resolves: what a notification arriving during the read looks like, made certain.
 */
function heldReads(database: Database, open: Promise<void>, answered: () => void): Database {
  const held = new Proxy(database.db, {
    get(target, key, receiver) {
      if (key !== 'select') return Reflect.get(target, key, receiver)
      return (...args: Parameters<typeof target.select>) => ({
        from: (table: Parameters<ReturnType<typeof target.select>['from']>[0]) => ({
          where: (where: Parameters<ReturnType<ReturnType<typeof target.select>['from']>['where']>[0]) => {
            const query = target
              .select(...args)
              .from(table)
              .where(where)
            return query.then(async (rows) => {
              answered()
              await open
              return rows
            })
          },
        }),
      })
    },
  })
  return new Proxy(database, { get: (target, key) => (key === 'db' ? held : Reflect.get(target, key)) })
}

describe('waitForRun', () => {
  it('answers at once when the run ends while its state is being read', async () => {
    const runId = await triggerPipeline(
      db.database,
      pipeline('waited').task('t', () => 1),
      {},
    )
    let open = () => {}
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    // The first read sees the run queued; its answer is held while the run ends and notifies.
    let answered = () => {}
    const read = new Promise<void>((resolve) => {
      answered = resolve
    })
    const waited = waitForRun(heldReads(db.database, gate, answered), runId, { pollMs: 600_000 })
    await read
    let heard = () => {}
    const notified = new Promise<void>((resolve) => {
      heard = resolve
    })
    const unlisten = await db.database.listen(RUN_FINISHED_CHANNEL, (id) => id === runId && heard())
    await db.database.rows(
      sql`update podline.runs set state = 'success', finished_at = now() where id = ${runId}`,
    )
    await db.database.rows(sql`select pg_notify(${RUN_FINISHED_CHANNEL}, ${runId})`)
    await notified
    await unlisten()
    open()
    // Without the notification kept, the wait would sleep out its 10-minute poll.
    const state = await Promise.race([
      waited,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('waitForRun missed the notification')), 10_000),
      ),
    ])
    expect(state).toBe('success')
  })
})
