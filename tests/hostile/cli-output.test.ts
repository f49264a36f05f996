import { join } from 'node:path'
import { triggerPipeline } from '@podline/runner'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { describe, expect, it } from 'vitest'
import { CLI, podline, run } from '../../apps/cli/src/__tests__/cli.js'
import { blame } from './fixtures/cli-pipelines.js'

const FIXTURE = join(import.meta.dirname, 'fixtures/cli-pipelines.ts')
const ESC = '\x1b'

const db = useFreshDatabase()

describe('CLI output is complete', () => {
  it('podline runs --json through a slow pipe gets every byte past 64 KiB, not what fit in the pipe', async () => {
    for (let i = 0; i < 300; i++) await triggerPipeline(db.database, blame, {})
    // The reader starts only after a second, so the first 64 KiB fill the pipe and the rest must wait in podline.
    const r = await run(
      'sh',
      ['-c', `"${process.execPath}" "${CLI}" runs --json --limit 1000 | (sleep 1; cat)`],
      {
        env: db.env,
      },
    )
    expect(r.code, r.stderr).toBe(0)
    expect(Buffer.byteLength(r.stdout)).toBeGreaterThan(64 * 1024)
    expect(JSON.parse(r.stdout)).toHaveLength(300)
  })
})

describe('output to a terminal is safe', () => {
  it('escape sequences from a task are escaped by podline run, logs and status, and printed as stored with --raw', async () => {
    const r = await podline(['run', FIXTURE, '--pipeline', 'cli-escapes'], { env: db.env })
    expect(r.code).toBe(1)
    for (const raw of [ESC, '\x07', '\r', '\u009b', '\u202e']) expect(r.stderr).not.toContain(raw)
    expect(r.stderr).toContain('title\\x1b]0;pwned\\x07 clear\\x1b[2J')
    const runId = /run ([0-9a-f-]{36}) of cli-escapes failed/.exec(r.stderr)?.[1] ?? ''

    const logs = await podline(['logs', runId], { env: db.env })
    expect(logs.code, logs.stderr).toBe(0)
    for (const raw of [ESC, '\x07', '\r', '\u009b', '\u202e']) expect(logs.stdout).not.toContain(raw)
    expect(logs.stdout).toContain('csi\\x9b2J cr\\x0dover bidi\\u202eevil')

    const status = await podline(['status', runId], { env: db.env })
    expect(status.stdout).not.toContain(ESC)
    expect(status.stdout).toContain('red\\x1b[31m')

    // --json stays exact: the characters come back when parsed, yet none is printed raw.
    const json = await podline(['status', runId, '--json'], { env: db.env })
    for (const raw of [ESC, '\u009b', '\u202e']) expect(json.stdout).not.toContain(raw)
    expect(JSON.parse(json.stdout).tasks[0].error).toContain('\x1b]0;pwned\x07')

    const raw = await podline(['logs', runId, '--raw'], { env: db.env })
    expect(raw.stdout).toContain('title\x1b]0;pwned\x07 clear\x1b[2J')
  })
})
