import { expect, it } from 'vitest'
import { podline, useCliDatabase } from './__tests__/cli.js'

const db = useCliDatabase()

it('podline prune --older-than 30d deletes the runs finished before then and keeps the rest', async () => {
  await db.sql`
    insert into podline.runs (id, pipeline, version, params, state, created_at, finished_at) values
      (gen_random_uuid(), 'p', 'v', '{}', 'success', now() - interval '41 days', now() - interval '40 days'),
      (gen_random_uuid(), 'p', 'v', '{}', 'failed', now() - interval '41 days', now() - interval '31 days'),
      (gen_random_uuid(), 'p', 'v', '{}', 'success', now() - interval '2 days', now() - interval '29 days' + interval '1 hour'),
      (gen_random_uuid(), 'p', 'v', '{}', 'queued', now() - interval '90 days', null)`
  const r = await podline(['prune', '--older-than', '30d'], { env: db.env })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  expect(r.stdout).toBe('pruned 2 runs finished more than 30d ago\n')
  const left = await db.sql<{ state: string }[]>`select state from podline.runs order by state`
  expect(left.map((l) => l.state)).toEqual(['queued', 'success'])
})

it('podline prune refuses a duration it cannot read, naming the forms it takes (exit 2)', async () => {
  const r = await podline(['prune', '--older-than', '30 days'], { env: db.env })
  expect(r.code).toBe(2)
  expect(r.stderr).toContain(
    `--older-than "30 days" is not a duration: use milliseconds or '250ms', '30s', '5m', '1h', '30d'`,
  )
})

it('podline prune --help names the worker setting that prunes continuously', async () => {
  const r = await podline(['prune', '--help'])
  expect(r.code).toBe(0)
  expect(r.stdout).toContain('Usage: podline prune')
  expect(r.stdout).toContain('PODLINE_PRUNE_OLDER_THAN')
})
