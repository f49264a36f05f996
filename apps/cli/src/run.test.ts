import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FIXTURES, podline, ROOT, run, tempDir, useCliDatabase } from './__tests__/cli.js'

const ETL = join(ROOT, 'examples/etl.ts')

describe('podline run on the embedded store', () => {
  it('runs examples/etl.ts and prints every output as JSON (isMain stays false under the CLI)', async () => {
    const cwd = tempDir()
    const r = await podline(['run', ETL], { cwd })
    expect(r.stderr).toContain('task extract succeeded in')
    expect(r.code, r.stderr).toBe(0)
    const outputs = JSON.parse(r.stdout)
    expect(Object.keys(outputs)).toEqual(['extract', 'transform', 'audit', 'load', 'report'])
    expect(outputs.report).toEqual({
      summary: '2 rows into sales_20261121 from s3://raw/2026-11-21.csv',
      clean: true,
    })
    // Had the file's own `if (isMain(import.meta)) console.log(await runLocal(...))` fired, a second
    // output would follow the JSON and JSON.parse above would have failed.
    expect(existsSync(join(cwd, '.podline/pgdata'))).toBe(true)

    // Warm: the same data dir again, and the operator verbs find the run there.
    const again = await podline(['run', ETL, '--params', '{"date":"2026-12-01"}'], { cwd })
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).load.table).toBe('sales_20261201')
    const runs = await podline(['runs', '--json'], { cwd })
    expect(JSON.parse(runs.stdout)).toHaveLength(2)
  })

  it('npx tsx examples/etl.ts runs itself', async () => {
    const cwd = tempDir()
    const r = await run(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), ETL], { cwd })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("summary: '2 rows into sales_20261121 from s3://raw/2026-11-21.csv'")
  })

  it('explains a file that does not exist, or exports no pipeline, with exit 2', async () => {
    const cwd = tempDir()
    const missing = await podline(['run', 'nope/missing.ts'], { cwd })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/the pipeline file nope\/missing\.ts does not exist/)
    const none = await podline(['run', join(FIXTURES, 'no-pipeline.ts')], { cwd })
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/exports no pipeline: it exports answer \(a number\), helper \(a function\)/)
    expect(existsSync(join(cwd, '.podline'))).toBe(false)
  })

  it('rejects --params that is not JSON before doing anything', async () => {
    const cwd = tempDir()
    const r = await podline(['run', ETL, '--params', '{date:'], { cwd })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--params is not valid JSON/)
    expect(existsSync(join(cwd, '.podline'))).toBe(false)
  })
})

describe('podline run on PostgreSQL', () => {
  const db = useCliDatabase()

  it('--params failing the schema creates no run', async () => {
    const r = await podline(['run', ETL, '--params', '{"date":"yesterday"}'], {
      env: db.env,
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/date: expected a date such as 2026-11-21; no run was created/)
    const [row] = await db.sql`select count(*)::int as n from podline.runs`
    expect(row?.n).toBe(0)
  })

  it('a task that throws: exit 1 with its error and stack, and status and logs show them', async () => {
    const r = await podline(['run', join(FIXTURES, 'ops.ts'), '--pipeline', 'ops-fail'], {
      env: db.env,
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('task explode failed')
    expect(r.stderr).toContain('boom: the disk is full')
    expect(r.stderr).toMatch(/at diskIsFull \(.*ops\.ts/)
    const runId = /run ([0-9a-f-]{36}) of ops-fail failed/.exec(r.stderr)?.[1]
    expect(runId).toBeDefined()

    const status = await podline(['status', runId!], { env: db.env })
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/run .* of ops-fail@\w+: failed/)
    expect(status.stdout).toMatch(/explode\s+failed\s+1\/1/)
    expect(status.stdout).toMatch(/at diskIsFull \(.*ops\.ts/)

    const logs = await podline(['logs', runId!], { env: db.env })
    expect(logs.code).toBe(0)
    expect(logs.stdout).toMatch(/explode#1 WARN\s+about to fail/)
    expect(logs.stdout).toContain('explode#1 failed: boom: the disk is full')
    expect(logs.stdout).toMatch(/at diskIsFull \(.*ops\.ts/)
  })

  it('names an unreachable database, password hidden, with exit 2', async () => {
    const r = await podline(['run', ETL], { env: { DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/x' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('cannot reach PostgreSQL at postgres://nobody:***@127.0.0.1:1/x')
    expect(r.stderr).not.toContain('secret')
  })
})
