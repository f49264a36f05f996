import { freshDatabase } from '@podline/runner/testing'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../store/database.js'
import { databaseErrorMessage, isPermanentDatabaseError } from './database-error.js'

describe('database errors as the worker reports them', () => {
  it("a data error is permanent and is told by the server's reason, without the SQL or its parameters", async () => {
    const { url, drop } = await freshDatabase()
    const database = await openDatabase({ databaseUrl: url })
    try {
      const error = await database
        .rows(sql`select convert_from(${Buffer.from([0])}::bytea, 'UTF8') as secret_statement`)
        .catch((e: unknown) => e)
      expect(isPermanentDatabaseError(error)).toBe(true)
      const message = databaseErrorMessage(error)
      expect(message).toBe('invalid byte sequence for encoding "UTF8": 0x00 (SQLSTATE 22021)')
      expect(message).not.toMatch(/secret_statement|params/)
    } finally {
      await database.close()
      await drop()
    }
  })

  it('a program limit (class 54, as a jsonb over 256 MB) is permanent: sent again, it fails again', async () => {
    const { url, drop } = await freshDatabase()
    const database = await openDatabase({ databaseUrl: url })
    try {
      const args = sql.join(
        Array.from({ length: 101 }, (_, i) => sql.raw(String(i))),
        sql`, `,
      )
      const error = await database.rows(sql`select concat(${args})`).catch((e: unknown) => e)
      expect(databaseErrorMessage(error)).toMatch(/\(SQLSTATE 54023\)$/)
      expect(isPermanentDatabaseError(error)).toBe(true)
    } finally {
      await database.close()
      await drop()
    }
  })

  it('a socket error is no SQLSTATE: it stays an outage, retried', () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })
    expect(isPermanentDatabaseError(epipe)).toBe(false)
    expect(databaseErrorMessage(epipe)).toBe('write EPIPE')
  })
})
