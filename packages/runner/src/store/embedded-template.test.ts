import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from './database.js'
import { preparedStoreDir } from './embedded-template.js'

describe('a new embedded store starts from the prepared store', () => {
  const root = mkdtempSync(join(tmpdir(), 'podline-prepared-'))
  const previous = process.env.PODLINE_CACHE_DIR
  beforeAll(() => {
    process.env.PODLINE_CACHE_DIR = join(root, 'cache')
  })
  afterAll(() => {
    if (previous === undefined) delete process.env.PODLINE_CACHE_DIR
    else process.env.PODLINE_CACHE_DIR = previous
    rmSync(root, { recursive: true, force: true })
  })

  it('prepares once, and each store copied from it is migrated and has an id of its own', async () => {
    expect(existsSync(preparedStoreDir())).toBe(false)
    const ids: string[] = []
    for (const name of ['a', 'b']) {
      const database = await openDatabase({ databaseUrl: '', dataDir: join(root, name) })
      try {
        // Migrated before migrate() runs: the copy holds the whole schema.
        const [row] = await database.rows<{ n: number }>(
          sql`select count(*)::int as n from podline.task_runs`,
        )
        expect(row?.n).toBe(0)
        ids.push(await database.storeId())
      } finally {
        await database.close()
      }
      expect(existsSync(join(preparedStoreDir(), 'PG_VERSION'))).toBe(true)
    }
    expect(new Set(ids).size).toBe(2)
    // The prepared store itself was never handed out: it keeps no id of the stores made from it.
    const prepared = await openDatabase({ databaseUrl: '', dataDir: join(root, 'c') })
    try {
      expect(ids).not.toContain(await prepared.storeId())
    } finally {
      await prepared.close()
    }
  })

  it('an unwritable cache falls back to creating the store in place', async () => {
    // A cache folder below a regular file cannot be made.
    writeFileSync(join(root, 'a-file'), '')
    process.env.PODLINE_CACHE_DIR = join(root, 'a-file', 'cache')
    try {
      const database = await openDatabase({ databaseUrl: '', dataDir: join(root, 'fallback') })
      try {
        await database.migrate()
        expect(await database.storeId()).toMatch(/^[0-9a-f-]{36}$/)
      } finally {
        await database.close()
      }
    } finally {
      process.env.PODLINE_CACHE_DIR = join(root, 'cache')
    }
  })
})
