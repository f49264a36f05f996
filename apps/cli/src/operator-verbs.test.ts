import { join } from 'node:path'
import { freshDatabase } from '@podline/runner/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, podline, type Running, start } from './__tests__/cli.js'

const OPS = join(FIXTURES, 'ops.ts')
let db: Awaited<ReturnType<typeof freshDatabase>>
let sql: postgres.Sql
let env: Record<string, string>
let worker: Running | undefined

beforeAll(async () => {
  db = await freshDatabase()
  sql = postgres(db.url, { max: 1, onnotice: () => {} })
  env = { DATABASE_URL: db.url }
})
afterAll(async () => {
  if (worker?.child.exitCode === null) worker.child.kill('SIGKILL')
  await sql?.end()
  await db?.drop()
})

const runCount = async () => (await sql`select count(*)::int as n from podline.runs`)[0]?.n

describe('before any worker registered a pipeline', () => {
  it('trigger of an unknown pipeline lists none and creates nothing (exit 2)', async () => {
    const r = await podline(['trigger', 'ops-ok'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/no pipeline named "ops-ok" is registered.*No pipeline is registered yet/)
    expect(await runCount()).toBe(0)
  })

  it('cancel: a queued run with no worker to take it', async () => {
    // Registered by a worker that starts and stops at once.
    const w = start(['worker', OPS], { env })
    await w.waitFor(/started on/)
    w.child.kill('SIGTERM')
    expect(await w.exited, w.output()).toBe(0)
    // The worker stopped: trigger refuses at once, unless a version is forced.
    const refused = await podline(['trigger', 'ops-slow'], { env })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(
      /no live worker serves pipeline "ops-slow" \(registered versions, newest first: \S+\).*Start one with: podline worker/,
    )
    expect(await runCount()).toBe(0)
    const [{ version } = { version: '' }] = await sql<{ version: string }[]>`
      select version from podline.pipelines where name = 'ops-slow'`
    const t = await podline(['trigger', 'ops-slow', '--version', version, '--json'], { env })
    const { runId } = JSON.parse(t.stdout)
    const s = await podline(['status', runId], { env })
    expect(s.stdout).toContain(
      `no live worker serves ops-slow@${version}: the run stays queued until one does`,
    )
    const c = await podline(['cancel', runId], { env })
    expect(c.code, c.stderr).toBe(0)
    expect(c.stdout).toContain(`run ${runId} cancelled`)
    const again = await podline(['cancel', runId], { env })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already ended (cancelled)')
  })
})

describe('with a worker running', () => {
  beforeAll(async () => {
    worker = start(['worker', OPS, '--concurrency', '2'], { env })
    await worker.waitFor(/started on/)
  })

  it('trigger picks the newest version a live worker serves, not the one registered last (a rollback)', async () => {
    // A newer version registered by a worker that has since been rolled back.
    await sql`insert into podline.pipelines (name, version, plan, created_at)
              select name, 'rolled-back', jsonb_set(plan, '{version}', '"rolled-back"'), now() + interval '1 minute'
              from podline.pipelines where name = 'ops-ok'`
    const t = await podline(['trigger', 'ops-ok', '--params', '{"n":1}', '--wait', '--json'], { env })
    expect(t.code, t.stderr).toBe(0)
    const { runId } = JSON.parse(t.stdout)
    const [run] = await sql<{ version: string }[]>`select version from podline.runs where id = ${runId}::uuid`
    expect(run?.version).not.toBe('rolled-back')
  })

  it('trigger --wait of a version no live worker serves says so after a few seconds', async () => {
    const waiting = start(
      ['trigger', 'ops-ok', '--version', 'rolled-back', '--params', '{"n":1}', '--wait'],
      { env },
    )
    try {
      await waiting.waitFor(/no live worker serves ops-ok@rolled-back: the run stays queued until one does/)
    } finally {
      waiting.child.kill('SIGKILL')
    }
    const [run] = await sql<{ id: string }[]>`select id::text from podline.runs where version = 'rolled-back'`
    expect((await podline(['cancel', run?.id ?? ''], { env })).code).toBe(0)
  })

  it('trigger --wait, runs, status, logs, xcom', async () => {
    const t = await podline(['trigger', 'ops-ok', '--params', '{"n":21}', '--wait', '--json'], { env })
    expect(t.code, t.stderr).toBe(0)
    const { runId, state } = JSON.parse(t.stdout)
    expect(state).toBe('success')

    const runs = await podline(['runs', '--pipeline', 'ops-ok'], { env })
    expect(runs.stdout).toMatch(new RegExp(`${runId}\\s+ops-ok\\s+success`))
    const status = await podline(['status', runId, '--json'], { env })
    expect(JSON.parse(status.stdout).tasks.map((x: { state: string }) => x.state)).toEqual([
      'success',
      'success',
    ])
    const logs = await podline(['logs', runId, 'double'], { env })
    expect(logs.stdout).toMatch(/double#1 INFO\s+doubling \{"n":21\}/)
    const xcom = await podline(['xcom', runId, 'double'], { env })
    expect(JSON.parse(xcom.stdout)).toEqual({ doubled: 42 })
    const described = await podline(['xcom', runId, 'describe'], { env })
    expect(JSON.parse(described.stdout)).toBe('twice is 42')
    const missingKey = await podline(['xcom', runId, 'double', '--key', 'nope'], { env })
    expect(missingKey.code).toBe(2)
    expect(missingKey.stderr).toContain('has no XCom "nope"; it has: return_value')
  })

  it('trigger --wait of a failing run exits 1; retry queues it again', async () => {
    const t = await podline(['trigger', 'ops-fail', '--wait', '--json'], { env })
    expect(t.code).toBe(1)
    const { runId, state } = JSON.parse(t.stdout)
    expect(state).toBe('failed')
    const r = await podline(['retry', runId], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('1 task(s) queued again')
    const unknownTask = await podline(['retry', runId, 'nope'], { env })
    expect(unknownTask.code).toBe(2)
    expect(unknownTask.stderr).toContain('has no task "nope"')
  })

  it('unknown pipeline lists the known ones; bad params JSON creates nothing', async () => {
    const before = await runCount()
    const unknown = await podline(['trigger', 'nope'], { env })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('Known pipelines: ops-fail, ops-ok, ops-slow.')
    const bad = await podline(['trigger', 'ops-ok', '--params', 'n=1'], { env })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--params is not valid JSON')
    expect(await runCount()).toBe(before)
  })

  it('unknown run ids are usage errors for every verb', async () => {
    for (const args of [
      ['status', 'not-a-run'],
      ['status', '00000000-0000-4000-8000-000000000000'],
      ['logs', '00000000-0000-4000-8000-000000000000'],
      ['xcom', '00000000-0000-4000-8000-000000000000', 'a'],
      ['cancel', '00000000-0000-4000-8000-000000000000'],
    ]) {
      const r = await podline(args, { env })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(/there is no run .* in this store/)
    }
  })

  it('SIGTERM drains: a slow task started before the signal finishes and is recorded success; exit 0', async () => {
    const t = await podline(['trigger', 'ops-slow', '--params', '{"ms":1500}', '--json'], { env })
    const { runId } = JSON.parse(t.stdout)
    await worker!.waitFor(new RegExp(`run ${runId} task nap attempt 1 started`))
    worker!.child.kill('SIGTERM')
    expect(await worker!.exited).toBe(0)
    expect(worker!.output()).toMatch(new RegExp(`run ${runId} task nap attempt 1 success`))
    const status = await podline(['status', runId, '--json'], { env })
    expect(JSON.parse(status.stdout).run.state).toBe('success')
  })
})

describe('migrate and bad databases', () => {
  it('migrate is idempotent on a migrated database', async () => {
    const r = await podline(['migrate'], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('is up to date')
  })

  it('migrate creates the schema in an empty database, which a worker refused before', async () => {
    const name = `podline_cli_empty_${process.pid}`
    await sql.unsafe(`create database ${name}`)
    const url = db.url.replace(/\/[^/]+$/, `/${name}`)
    try {
      const refused = await podline(['worker', OPS], { env: { DATABASE_URL: url } })
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain('has no Podline schema. Create it with `podline migrate`')
      const m = await podline(['migrate'], { env: { DATABASE_URL: url } })
      expect(m.code, m.stderr).toBe(0)
      const runs = await podline(['runs'], { env: { DATABASE_URL: url } })
      expect(runs.stdout).toBe('no runs\n')
    } finally {
      await sql.unsafe(`drop database if exists ${name} with (force)`)
    }
  })

  it('an unreachable database is named, password hidden (exit 2)', async () => {
    const r = await podline(['runs'], { env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('cannot reach PostgreSQL at postgres://nobody@127.0.0.1:1/x')
  })

  it('a worker given a file with no pipeline says what it exports (exit 2)', async () => {
    const r = await podline(['worker', join(FIXTURES, 'no-pipeline.ts')], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('exports no pipeline: it exports answer (a number), helper (a function)')
  })
})

it('every verb has --help', async () => {
  for (const verb of [
    'run',
    'worker',
    'trigger',
    'runs',
    'status',
    'logs',
    'xcom',
    'cancel',
    'retry',
    'migrate',
    'plan',
    'check',
  ]) {
    const r = await podline([verb, '--help'])
    expect(r.code, verb).toBe(0)
    expect(r.stdout).toContain(`Usage: podline ${verb}`)
  }
  const bad = await podline(['run'])
  expect(bad.code).toBe(2)
})
