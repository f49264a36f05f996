import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from './database.js'
import { EmbeddedStoreBusyError } from './embedded-lock.js'

describe('the embedded store lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podline-lock-'))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('refuses a second process while the owner lives, and takes over a lock left by a dead one', async () => {
    mkdirSync(dir, { recursive: true })
    const owner = spawn('sleep', ['30'])
    try {
      writeFileSync(join(dir, 'podline.lock'), String(owner.pid))
      const error = await openDatabase({ dataDir: dir, databaseUrl: '' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(EmbeddedStoreBusyError)
      expect((error as Error).message).toContain(`in use by another podline process (pid ${owner.pid})`)
    } finally {
      owner.kill()
    }
    await new Promise((r) => owner.once('exit', r))
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    expect(existsSync(join(dir, 'podline.lock'))).toBe(true)
    await db.close()
    expect(existsSync(join(dir, 'podline.lock'))).toBe(false)
  })
})
