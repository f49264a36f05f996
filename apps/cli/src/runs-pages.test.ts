import { freshDatabase } from '@podline/runner/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { podline } from './__tests__/cli.js'

let db: Awaited<ReturnType<typeof freshDatabase>>
let env: Record<string, string>

beforeAll(async () => {
  db = await freshDatabase()
  env = { DATABASE_URL: db.url }
  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  try {
    await sql`
      insert into podline.runs (id, pipeline, version, params, state, created_at)
      select gen_random_uuid(), 'paged', 'v', '{}', 'success', now() - i * interval '1 minute'
      from generate_series(1, 5) i`
  } finally {
    await sql.end()
  }
})
afterAll(async () => {
  await db?.drop()
})

it('podline runs pages with --after: the hint on stderr lists the next page, the last page has none', async () => {
  const all = JSON.parse((await podline(['runs', '--json'], { env })).stdout) as Array<{ id: string }>
  expect(all).toHaveLength(5)
  const first = await podline(['runs', '--pipeline', 'paged', '--limit', '3'], { env })
  expect(first.code, first.stderr).toBe(0)
  expect(first.stdout).toContain(all[2]?.id)
  expect(first.stdout).not.toContain(all[3]?.id)
  expect(first.stderr).toBe(`more: podline runs --pipeline paged --limit 3 --after ${all[2]?.id}\n`)
  const second = await podline(['runs', '--pipeline', 'paged', '--limit', '3', '--after', all[2]?.id ?? ''], {
    env,
  })
  expect(second.code, second.stderr).toBe(0)
  expect(second.stdout).toContain(all[3]?.id)
  expect(second.stdout).toContain(all[4]?.id)
  expect(second.stdout).not.toContain(all[2]?.id)
  expect(second.stderr).toBe('')
})

it('podline runs --after an unknown run is exit 2 naming it', async () => {
  const r = await podline(['runs', '--after', '00000000-0000-4000-8000-000000000000'], { env })
  expect(r.code).toBe(2)
  expect(r.stderr).toContain('there is no run 00000000-0000-4000-8000-000000000000 in this store')
})
