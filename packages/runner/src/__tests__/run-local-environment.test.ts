import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest'
import { ConfigError } from '../config/config-error.js'
import { type Database, runLocal } from '../index.js'
import { openFreshDatabase } from '../testing/index.js'

/*
 * runLocal as `tsx pipeline.ts` calls it, with no options: what it does is what the environment
 * says, read through the schema `podline run` and the workers read.
 */
let database: Database
let url: string
let close: () => Promise<void>
let folder: string
beforeAll(async () => {
  ;({ database, url, close } = await openFreshDatabase())
  folder = mkdtempSync(join(tmpdir(), 'podline-env-xcoms-'))
})
afterEach(() => {
  vi.unstubAllEnvs()
})
afterAll(async () => {
  await close()
  rmSync(folder, { recursive: true, force: true })
})

const MB = 1024 * 1024

/** The sizes of the files under `dir`. */
function fileSizes(dir: string): number[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((path) => statSync(join(dir, path)))
    .filter((stat) => stat.isFile())
    .map((stat) => stat.size)
}

it('with DATABASE_URL and PODLINE_XCOM_STORE set, a 20 MB output goes to the store and comes back whole', async () => {
  vi.stubEnv('DATABASE_URL', url)
  vi.stubEnv('PODLINE_XCOM_STORE', pathToFileURL(folder).href)
  const p = pipeline('env-large-xcom')
    .task('make', () => 'x'.repeat(20 * MB))
    .task('measure', { needs: ['make'] }, ({ make }) => make.length)

  const out = await runLocal(p)

  expect(out.measure).toBe(20 * MB)
  expect(out.make.length).toBe(20 * MB)
  const [row] = await database.rows<{ store: string | null; bytes: number }>(sql`
    select x.value -> '$podline' ->> 'store' as store, octet_length(x.value::text) as bytes
    from podline.xcoms x join podline.runs r on r.id = x.run_id
    where r.pipeline = ${p.name} and x.task = 'make' and x.key = 'return_value'`)
  expect(row?.store).toBe(pathToFileURL(folder).href)
  expect(row?.bytes).toBeLessThan(1024)
  expect(fileSizes(folder).some((size) => size >= 20 * MB)).toBe(true)
})

it('a bad variable stops runLocal before it runs anything, in the shared format', async () => {
  vi.stubEnv('DATABASE_URL', url)
  vi.stubEnv('PODLINE_XCOM_OFFLOAD_BYTES', 'lots')
  const error = await runLocal(pipeline('env-bad').task('never', () => 1)).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(ConfigError)
  expect((error as Error).message).toBe(
    'PODLINE_XCOM_OFFLOAD_BYTES=lots is not a whole number of at least 0; fix or unset it.',
  )
  const runs = await database.rows<{ n: number }>(sql`
    select count(*)::int as n from podline.runs where pipeline = 'env-bad'`)
  expect(runs[0]?.n).toBe(0)
})

it('an option wins over its variable', async () => {
  vi.stubEnv('DATABASE_URL', url)
  vi.stubEnv('PODLINE_XCOM_STORE', pathToFileURL(join(folder, 'unused')).href)
  const p = pipeline('env-option-wins').task('make', () => 'y'.repeat(2 * MB))
  const out = await runLocal(p, {}, { xcomOffloadBytes: 4 * MB })
  expect(out.make.length).toBe(2 * MB)
  const [row] = await database.rows<{ store: string | null }>(sql`
    select x.value -> '$podline' ->> 'store' as store
    from podline.xcoms x join podline.runs r on r.id = x.run_id
    where r.pipeline = ${p.name} and x.task = 'make'`)
  expect(row?.store).toBeNull()
})

it('an output over PODLINE_XCOM_LIMIT_BYTES is refused naming that variable, and a set store is not advised', async () => {
  vi.stubEnv('DATABASE_URL', url)
  vi.stubEnv('PODLINE_XCOM_LIMIT_BYTES', String(MB))
  const p = pipeline('env-over-limit').task('make', () => 'z'.repeat(2 * MB))
  const without = await runLocal(p).catch((e: unknown) => e)
  expect((without as Error).message).toMatch(
    /over the XCom size limit of 1 MiB \(1048576 bytes, PODLINE_XCOM_LIMIT_BYTES\); set PODLINE_XCOM_STORE/,
  )

  const store = pathToFileURL(join(folder, 'limited')).href
  vi.stubEnv('PODLINE_XCOM_STORE', store)
  const withStore = await runLocal(p).catch((e: unknown) => e)
  const message = (withStore as Error).message
  expect(message).toContain(`(1048576 bytes, PODLINE_XCOM_LIMIT_BYTES) with the XCom store ${store}`)
  expect(message).not.toContain('set PODLINE_XCOM_STORE')
})
