import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { redactUrl } from '@podline/runner'
import { describe, expect, it } from 'vitest'
import { podline, ROOT, startRunning, tempDir, useCliDatabase } from '../../apps/cli/src/__tests__/cli.js'

const PIPELINES = join(import.meta.dirname, 'fixtures/cli-pipelines.ts')
const ETL = join(ROOT, 'examples/etl.ts')

const db = useCliDatabase()

describe('small hostile inputs', () => {
  it('params nested too deep are exit 2 with a message, not a stack overflow', async () => {
    const cwd = tempDir()
    const deep = `{"date":"2026-11-21","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`
    const r = await podline(['run', ETL, '--params', deep], { cwd })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'podline: --params nests more than 100 levels deep; at most 100 are allowed. Pass flatter params (a deep structure can be a JSON string inside them). Nothing was run.\n',
    )
    expect(existsSync(join(cwd, '.podline'))).toBe(false)
  })

  it('a password query parameter in DATABASE_URL is redacted from messages', async () => {
    expect(redactUrl('postgres://app@db.internal:5432/podline?sslmode=require&password=hunter2')).toBe(
      'postgres://app@db.internal:5432/podline?sslmode=require&password=***',
    )
    expect(redactUrl('postgres://app:hunter2@db.internal/podline?PASSWORD=hunter2')).not.toContain('hunter2')
    const r = await podline(['runs'], {
      env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/podline?password=hunter2' },
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      'cannot reach PostgreSQL at postgres://postgres@127.0.0.1:1/podline?password=***',
    )
    expect(r.stderr).not.toContain('hunter2')
  })

  it('podline run honours PODLINE_LEASE_MS', async () => {
    const run = await startRunning(PIPELINES, 'cli-waiting', {
      env: { ...db.env, PODLINE_LEASE_MS: '600000' },
    })
    try {
      const [row] = await db.sql`
        select extract(epoch from lease_expires_at - now())::float8 as s from podline.task_runs where task = 'wait'`
      // The default lease is 30 s; this one was asked for 10 minutes.
      expect(row?.s).toBeGreaterThan(300)
    } finally {
      run.child.kill('SIGINT')
      await run.exited
    }
  })
})
