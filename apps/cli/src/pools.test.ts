import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FIXTURES, podline, useCliDatabase } from './__tests__/cli.js'

const POOLED = join(FIXTURES, 'pooled.ts')
const db = useCliDatabase()

describe('podline pools', () => {
  it('set creates a pool and changes it, pools lists it, --json too', async () => {
    const empty = await podline(['pools'], { env: db.env })
    expect(empty).toMatchObject({ code: 0, stderr: '' })
    expect(empty.stdout).toBe('no pools: create one with `podline pools set NAME --slots N`\n')

    const created = await podline(
      ['pools', 'set', 'warehouse', '--slots', '3', '--description', 'the warehouse'],
      {
        env: db.env,
      },
    )
    expect(created).toMatchObject({ code: 0, stdout: 'pool warehouse created: 3 slots\n', stderr: '' })
    const changed = await podline(['pools', 'set', 'warehouse', '--slots', '4'], { env: db.env })
    expect(changed).toMatchObject({ code: 0, stdout: 'pool warehouse: 4 slots (was 3)\n' })

    // Work of the pool: one task run running (2 slots), two waiting.
    await db.sql`
      with r as (
        insert into podline.runs (id, pipeline, version, params, state)
        select gen_random_uuid(), 'p', 'v', '{}', 'running' from generate_series(1, 3) returning id
      )
      insert into podline.task_runs (run_id, pipeline, version, task, kind, needs, is_leaf, trigger_rule, state,
                                     max_attempts, retries, retry_delay, pool, pool_slots, lease_owner)
      select id, 'p', 'v', 't', 'task', '{}', true, 'all_success',
             case when n = 1 then 'running' else 'queued' end, 1, 0, '{}', 'warehouse', 2,
             case when n = 1 then 'w' end
      from (select id, row_number() over () as n from r) r`
    const listed = await podline(['pools'], { env: db.env })
    expect(listed.code).toBe(0)
    expect(listed.stdout).toBe(
      'POOL       SLOTS  RUNNING SLOTS  QUEUED  DESCRIPTION\nwarehouse  4      2              2       the warehouse\n',
    )
    const json = await podline(['pools', '--json'], { env: db.env })
    expect(JSON.parse(json.stdout)).toEqual([
      { name: 'warehouse', slots: 4, description: 'the warehouse', runningSlots: 2, queued: 2 },
    ])
  })

  it('delete refuses a pool in use, naming how many task runs use it, and deletes it once they end (exit 2, then 0)', async () => {
    const refused = await podline(['pools', 'delete', 'warehouse'], { env: db.env })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toBe(
      'podline: pool "warehouse" is in use by 3 task runs that have not ended (1 running, 2 queued); delete it once they end, or cancel their runs (podline cancel RUN)\n',
    )
    await db.sql`update podline.task_runs set state = 'cancelled', lease_owner = null where pool = 'warehouse'`
    const deleted = await podline(['pools', 'delete', 'warehouse'], { env: db.env })
    expect(deleted).toMatchObject({ code: 0, stdout: 'pool warehouse deleted\n', stderr: '' })
    const again = await podline(['pools', 'delete', 'warehouse'], { env: db.env })
    expect(again.code).toBe(2)
    expect(again.stderr).toBe('podline: there is no pool "warehouse"; see `podline pools`\n')
  })

  it.each([
    [['pools', 'set', 'x'], "required option '--slots <n>' not specified"],
    [['pools', 'set', 'x', '--slots', '-1'], '--slots "-1" is not a whole number of slots (0 to 2147483647)'],
    [['pools', 'set', 'x', '--slots', '1.5'], '--slots "1.5" is not a whole number of slots'],
    [['pools', 'set', 'x', '--slots', 'lots'], '--slots "lots" is not a whole number of slots'],
    [['pools', 'set', 'a b', '--slots', '1'], 'invalid pool name "a b": a pool name is 1-100 letters'],
    [['pools', 'delete'], "missing required argument 'name'"],
    [['pools', 'frob'], 'unknown command "pools frob": use `podline pools` to list'],
    [['pools', 'set', 'x', '--slots', '1', '--json'], "unknown option '--json'"],
  ])('%j is a usage error (exit 2): %s', async (args, message) => {
    const r = await podline(args, { env: db.env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(message)
  })

  it.each([
    [
      ['pools', '--help'],
      ['Usage: podline pools [options] [command]', 'podline pools set NAME --slots N'],
    ],
    [
      ['pools', 'set', '--help'],
      ['Usage: podline pools set [options] <name>', '--description <text>'],
    ],
    [
      ['pools', 'delete', '--help'],
      ['Usage: podline pools delete [options] <name>', 'Exit status'],
    ],
  ])('%j prints its usage', async (args, texts) => {
    const r = await podline(args)
    expect(r.code).toBe(0)
    for (const text of texts) expect(r.stdout).toContain(text)
  })

  it('a pipeline whose task names a pool that does not exist is refused at registration (exit 2), and runs once it exists', async () => {
    const refused = await podline(['run', POOLED], { env: db.env })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(
      'task "load" of pipeline "cli-pooled" takes slots of pool "cli-warehouse", which does not exist. Create it with podline pools set cli-warehouse --slots N',
    )
    expect(await db.sql`select 1 from podline.runs where pipeline = 'cli-pooled'`).toEqual([])
    expect((await podline(['pools', 'set', 'cli-warehouse', '--slots', '2'], { env: db.env })).code).toBe(0)
    const ran = await podline(['run', POOLED], { env: db.env })
    expect(ran.stderr).not.toContain('podline:')
    expect(ran.code).toBe(0)
  }, 60_000)
})
