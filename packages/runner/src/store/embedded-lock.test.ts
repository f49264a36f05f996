import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from './database.js'
import { EmbeddedStoreBusyError } from './embedded-lock.js'

describe('the embedded store lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podline-lock-'))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('refuses a second opener while the owner holds it, and takes over a lock file left by a dead one', async () => {
    const dead = spawn('true')
    await new Promise((r) => dead.once('exit', r))
    writeFileSync(join(dir, 'podline.lock'), String(dead.pid))
    const db = await openDatabase({ dataDir: dir, databaseUrl: '' })
    expect(readFileSync(join(dir, 'podline.lock'), 'utf8')).toBe(String(process.pid))
    const error = await openDatabase({ dataDir: dir, databaseUrl: '' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EmbeddedStoreBusyError)
    expect((error as Error).message).toContain(`in use by another podline process (pid ${process.pid})`)
    await db.close()
    expect(existsSync(join(dir, 'podline.lock'))).toBe(false)
    const again = await openDatabase({ dataDir: dir, databaseUrl: '' })
    await again.close()
  })
})
