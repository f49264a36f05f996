import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, openDatabase } from '../store/database.js'
import * as schema from '../store/schema.js'
import { storeForDriver } from '../testing/index.js'
import { type LogPosition, type TaskLogPage, taskLogPage } from './task-log-page.js'

for (const driver of ['postgres', 'pglite'] as const) {
  describe(`a page of a task's log (${driver})`, () => {
    let database: Database
    let cleanup = async () => {}
    const runId = randomUUID()
    /** The ids of "line 1" to "line 12" of task t, each followed by a line of another task. */
    let ids: bigint[] = []

    beforeAll(async () => {
      const store = await storeForDriver(driver)
      cleanup = store.cleanup
      database = await openDatabase(store.options)
      await database.migrate()
      await database.db
        .insert(schema.runs)
        .values({ id: runId, pipeline: 'p', version: 'v1', params: {}, state: 'running' })
      const rows = Array.from({ length: 12 }, (_, i) => [
        { runId, task: 't', attempt: 1, level: 'info', message: `line ${i + 1}` },
        { runId, task: 'other', attempt: 1, level: 'info', message: `other ${i + 1}` },
      ]).flat()
      const inserted = await database.db
        .insert(schema.taskLogs)
        .values(rows)
        .returning({ id: schema.taskLogs.id, task: schema.taskLogs.task })
      ids = inserted.filter((r) => r.task === 't').map((r) => r.id)
    })
    afterAll(async () => {
      await database?.close()
      await cleanup()
    })

    const id = (line: number) => ids[line - 1] ?? -1n
    const read = async (position: LogPosition, limit?: number, task = 't') => {
      const page: TaskLogPage = await taskLogPage(database, runId, task, position, limit)
      return {
        lines: page.lines.map((l) => l.message.replace('line ', '')),
        total: page.total,
        at: page.offset,
      }
    }
    const numbers = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => String(from + i))

    it('pages forwards and back by line, each page placed in the whole', async () => {
      expect(await read({ at: 'start' }, 5)).toEqual({ lines: numbers(1, 5), total: 12, at: 0 })
      expect(await read({ after: id(5) }, 5)).toEqual({ lines: numbers(6, 10), total: 12, at: 5 })
      expect(await read({ after: id(10) }, 5)).toEqual({ lines: numbers(11, 12), total: 12, at: 10 })
      expect(await read({ at: 'end' }, 5)).toEqual({ lines: numbers(8, 12), total: 12, at: 7 })
      expect(await read({ before: id(8) }, 5)).toEqual({ lines: numbers(3, 7), total: 12, at: 2 })
      expect(await read({ before: id(3) }, 5)).toEqual({ lines: numbers(1, 2), total: 12, at: 0 })
    })

    it('places an empty page where its lines would begin: only the counts, past either end, no lines at all', async () => {
      expect(await read({ after: id(5) }, 0)).toEqual({ lines: [], total: 12, at: 5 })
      expect(await read({ at: 'end' }, 0)).toEqual({ lines: [], total: 12, at: 12 })
      expect(await read({ after: id(12) })).toEqual({ lines: [], total: 12, at: 12 })
      expect(await read({ before: id(1) })).toEqual({ lines: [], total: 12, at: 0 })
      expect(await read({ at: 'end' }, undefined, 'silent')).toEqual({ lines: [], total: 0, at: 0 })
    })
  })
}
