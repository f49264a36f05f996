import { randomUUID } from 'node:crypto'
import { freshDatabase, TEST_SERVER_URL } from '@podline/runner/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { podline } from './__tests__/cli.js'

/*
 * A server with few connections to spare, made with a role's CONNECTION LIMIT (the same SQLSTATE
 * 53300 as "too many clients already", without starving the suite's shared server): a burst of CLI
 * commands each takes one connection at a time, waits with backoff while the server is full, and a
 * server that stays full fails with the fix.
 */
describe('CLI commands on a server with few connections', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>
  let admin: postgres.Sql
  const role = `podline_budget_${randomUUID().slice(0, 8)}`
  let url = ''

  beforeAll(async () => {
    db = await freshDatabase()
    admin = postgres(db.url, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create role ${role} login`)
    for (const schema of ['podline', 'drizzle']) {
      await admin.unsafe(`grant usage on schema ${schema} to ${role}`)
      await admin.unsafe(`grant all on all tables in schema ${schema} to ${role}`)
      await admin.unsafe(`grant all on all sequences in schema ${schema} to ${role}`)
    }
    const limited = new URL(db.url)
    limited.username = role
    url = limited.toString()
  })
  afterAll(async () => {
    await admin?.end()
    await db?.drop()
    const server = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} })
    await server.unsafe(`drop role if exists ${role}`)
    await server.end()
  })

  it('twelve commands at once on three connections all succeed, each holding one connection', async () => {
    await admin.unsafe(`alter role ${role} connection limit 3`)
    const results = await Promise.all(
      Array.from({ length: 12 }, () => podline(['runs', '--json'], { env: { DATABASE_URL: url } })),
    )
    const failed = results.filter((r) => r.code !== 0).map((r) => r.stderr.trim())
    expect(failed).toEqual([])
  }, 60_000)

  it('a server that stays full fails the command with what to change', async () => {
    await admin.unsafe(`alter role ${role} connection limit 0`)
    const result = await podline(['runs'], { env: { DATABASE_URL: url } })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/has no connection to spare \(too many connections for role/)
    expect(result.stderr).toMatch(
      /raise the server's max_connections, lower PODLINE_DB_POOL_SIZE, or put PgBouncer in front/,
    )
  }, 60_000)
})
