import { type Database, openDatabase, runLocal, runStatus } from '@podline/runner'
import { freshDatabase } from '@podline/runner/testing'
import { pipeline } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

describe('a thrown value that is not an Error', () => {
  let drop: () => Promise<void>
  let database: Database

  beforeAll(async () => {
    const fresh = await freshDatabase()
    drop = fresh.drop
    database = await openDatabase({ databaseUrl: fresh.url })
  })
  afterAll(async () => {
    await database.close()
    await drop()
  })

  it('is recorded readably as JSON, not as [object Object]', async () => {
    let runId = ''
    const p = pipeline('throws-objects')
      .task('object', () => {
        throw { code: 42, reason: 'quota' }
      })
      .task('cycle', () => {
        const value: Record<string, unknown> = { name: 'loop' }
        value.self = value
        throw value
      })
    await runLocal(p, {}, { database, onRun: (id) => (runId = id) }).catch(() => {})
    const status = await runStatus(database, runId)
    const errors = Object.fromEntries(status?.tasks.map((t) => [t.task, t.error]) ?? [])
    expect(errors.object).toBe('{"code":42,"reason":"quota"}')
    expect(errors.cycle).toBe("<ref *1> { name: 'loop', self: [Circular *1] }")
  })
})
