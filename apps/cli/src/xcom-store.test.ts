import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { freshDatabase, type S3TestServer, startS3Server } from '@podline/runner/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, podline, type Running, start, tempDir } from './__tests__/cli.js'

/*
 * Large XComs through the CLI: the embedded store keeps them in a folder beside it; a worker on
 * PostgreSQL with PODLINE_XCOM_STORE keeps them in a real S3 API server; `podline xcom` reads
 * either back, streamed to a pipe.
 */
const FIXTURE = join(FIXTURES, 'large-xcom.ts')
const rows = Array.from({ length: 8000 }, (_, i) => ({ i, name: `row ${i}` }))

describe('podline run on the embedded store', () => {
  it('keeps a large output in .podline/xcoms, and podline xcom prints it whole', async () => {
    const cwd = tempDir()
    const r = await podline(['run', FIXTURE], { cwd })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).count).toBe(8000)
    expect(existsSync(join(cwd, '.podline', 'xcoms', 'xcoms'))).toBe(true)
    const listed = await podline(['runs', '--json'], { cwd })
    const [run] = JSON.parse(listed.stdout) as Array<{ id: string }>
    const x = await podline(['xcom', run?.id ?? '', 'make'], { cwd })
    expect(x.code, x.stderr).toBe(0)
    expect(JSON.parse(x.stdout)).toEqual({ rows })
  })
})

describe('a worker on PostgreSQL with an S3 store', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>
  let s3: S3TestServer
  let worker: Running
  let env: Record<string, string>
  beforeAll(async () => {
    db = await freshDatabase()
    s3 = await startS3Server()
    env = {
      DATABASE_URL: db.url,
      PODLINE_XCOM_STORE: `s3://${s3.bucket}/podline`,
      PODLINE_S3_ENDPOINT: s3.endpoint,
      ...s3.env,
    }
    worker = start(['worker', FIXTURE, '--concurrency', '2'], { env })
    await worker.waitFor(/started on/)
  })
  afterAll(async () => {
    if (worker?.child.exitCode === null) worker.child.kill('SIGKILL')
    await s3?.close()
    await db?.drop()
  })

  it('offloads the output to the bucket; podline xcom streams it back, and without the store says which to set', async () => {
    const t = await podline(['trigger', 'large-xcom', '--wait', '--json'], { env })
    expect(t.code, t.stderr).toBe(0)
    const { runId } = JSON.parse(t.stdout) as { runId: string }
    const x = await podline(['xcom', runId, 'make'], { env })
    expect(x.code, x.stderr).toBe(0)
    expect(JSON.parse(x.stdout)).toEqual({ rows })
    const count = await podline(['xcom', runId, 'count'], { env })
    expect(count.stdout.trim()).toBe('8000')

    const bare = await podline(['xcom', runId, 'make'], { env: { DATABASE_URL: db.url } })
    expect(bare.code).not.toBe(0)
    expect(bare.stderr).toContain(`is stored in s3://${s3.bucket}/podline`)
    expect(bare.stderr).toContain(`set PODLINE_XCOM_STORE=s3://${s3.bucket}/podline`)
  })

  it('refuses a store URL it cannot use, naming the forms it takes (exit 2)', async () => {
    const r = await podline(['xcom', '00000000', 'make'], { env: { ...env, PODLINE_XCOM_STORE: 'ftp://x' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('PODLINE_XCOM_STORE')
    expect(r.stderr).toContain('file:///srv/xcoms or s3://bucket/prefix')
  })
})
