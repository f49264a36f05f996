import { runLocal, runStatus } from '@podline/runner'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'

describe('a thrown value that is not an Error', () => {
  const db = useFreshDatabase()

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
    await runLocal(p, {}, { database: db.database, onRun: (id) => (runId = id) }).catch(() => {})
    const status = await runStatus(db.database, runId)
    const errors = Object.fromEntries(status?.tasks.map((t) => [t.task, t.error]) ?? [])
    expect(errors.object).toBe('{"code":42,"reason":"quota"}')
    expect(errors.cycle).toBe("<ref *1> { name: 'loop', self: [Circular *1] }")
  })
})
