import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AnyPipeline, pipeline, TRIGGER_RULES, type TriggerRule } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { decidePromotion } from '../engine/trigger-rules.js'
import {
  cancelRun,
  claimTaskRuns,
  finishAttempt,
  openDatabase,
  reconcile,
  registerPlans,
  retryRun,
  runStatus,
  triggerPipeline,
} from '../index.js'
import { failRunOnParams } from '../queue/fail-run-params.js'
import { type AttemptOutcome, finishAttempts } from '../queue/finish-attempt.js'
import { promoteDownstream } from '../queue/promote-downstream.js'
import { MIGRATIONS_FOLDER } from '../store/migrations-folder.js'
import { emptyDatabase } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

const db = useFreshDatabase({ poolSize: 8 })

interface TaskSpec {
  name: string
  needs?: string[]
  triggerRule?: TriggerRule
}

/** A pipeline from a list of tasks, for shapes too wide to spell out; the tasks' bodies never run here. */
function dag(name: string, tasks: readonly TaskSpec[]): AnyPipeline {
  type Loose = { task(n: string, o: object, f: () => Promise<number>): Loose }
  let p = pipeline(name) as unknown as Loose
  for (const t of tasks)
    p = p.task(t.name, { needs: t.needs ?? [], triggerRule: t.triggerRule }, async () => 1)
  return p as unknown as AnyPipeline
}

/** A task named after a trigger rule (task names take '-', not '_'). */
const named = (rule: TriggerRule) => rule.replaceAll('_', '-')

const middles = (width: number) => Array.from({ length: width }, (_, i) => `m${i}`)

/** root → width middle tasks → join */
const fanIn = (name: string, width: number, triggerRule?: TriggerRule) =>
  dag(name, [
    { name: 'root' },
    ...middles(width).map((m) => ({ name: m, needs: ['root'] })),
    { name: 'join', needs: middles(width), triggerRule },
  ])

interface Claimed {
  id: string
  task: string
  attempt: number
  claim: number
  isLeaf: boolean
}

async function start(p: AnyPipeline) {
  await registerPlans(db.database, [p.plan()])
  const runId = await triggerPipeline(db.database, p, {})
  const version = p.plan().version
  const claim = (limit = 100): Promise<Claimed[]> =>
    claimTaskRuns(db.database, { workerId: 'w', versions: [version], limit, leaseMs: 600_000 })
  const finish = (c: Claimed, outcome: AttemptOutcome = { state: 'success', output: 1, size: 1 }) =>
    finishAttempt(db.database, { ...c, runId, workerId: 'w' }, outcome)
  return { runId, claim, finish }
}

interface Counts {
  task: string
  state: string
  total: number
  success: number
  failed: number
  skipped: number
  done: number
}

const counts = (runId: string, task: string) =>
  db.database
    .rows<Counts>(
      sql`select task, state, cardinality(needs) as total, upstreams_succeeded as success,
                 upstreams_failed as failed, upstreams_skipped as skipped, upstreams_done as done
          from podline.task_runs where run_id = ${runId}::uuid and task = ${task} and map_index = -1`,
    )
    .then((rows) => rows[0])

/** The tasks of a run whose stored counts differ from a count of their upstreams' states. */
const drift = async (runId: string) => {
  // Fresh statistics, or the planner reads every row of a wide run once per row.
  await db.database.rows(sql`analyze podline.task_runs`)
  return db.database
    .rows<{ task: string }>(
      sql`
        select d.task from podline.task_runs d
        left join lateral (
          select count(*) filter (where u.state = 'success')::int as s,
                 count(*) filter (where u.state in ('failed', 'upstream_failed'))::int as f,
                 count(*) filter (where u.state = 'skipped')::int as k,
                 count(*) filter (where u.state in ('success', 'failed', 'skipped', 'upstream_failed', 'cancelled'))::int as n
          from podline.task_runs u
          where u.run_id = d.run_id and u.task = any(d.needs) and u.map_index = -1
        ) c on true
        where d.run_id = ${runId}::uuid and d.map_index = -1
          and (d.upstreams_succeeded, d.upstreams_failed, d.upstreams_skipped, d.upstreams_done) <> (c.s, c.f, c.k, c.n)
        order by d.id`,
    )
    .then((rows) => rows.map((r) => r.task))
}

const decidedEvents = (runId: string, task: string) =>
  db.database
    .rows<{ to: string }>(
      sql`select to_state as "to" from podline.events
          where run_id = ${runId}::uuid and task = ${task} and message = 'trigger rule decided' order by id`,
    )
    .then((rows) => rows.map((r) => r.to))

/** Finishes `tasks` a few at a time, as concurrent workers would. */
async function finishAll(tasks: readonly Claimed[], finish: (c: Claimed) => Promise<void>) {
  const queue = [...tasks]
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await finish(c)
    }),
  )
}

/** Tasks ending in one transaction, promoted in one call: what a batch of completions does. */
const endTogether = (runId: string, tasks: readonly Claimed[]) =>
  db.database.db.transaction(async (tx) => {
    await tx.execute(sql`select 1 from podline.runs where id = ${runId}::uuid for no key update`)
    const ended = await db.database.rows<{ task: string }>(
      sql`update podline.task_runs set state = 'success', finished_at = now(), lease_owner = null, lease_expires_at = null
          where id = any(array(select jsonb_array_elements_text(${JSON.stringify(tasks.map((t) => t.id))}::jsonb)::bigint))
            and state = 'running'
          returning task`,
      tx,
    )
    expect(ended).toHaveLength(tasks.length)
    await promoteDownstream(
      db.database,
      tx,
      runId,
      ended.map((e) => e.task),
      'w',
      { runLocked: true },
    )
  })

describe('upstream counts', () => {
  it('a 1 → 3,000 → 1 run promotes the fan-in task once, when its last upstream ends, with every count right', async () => {
    const width = 3000
    const { runId, claim, finish } = await start(fanIn('wide-fan-in', width))
    const [root] = await claim(1)
    if (!root) throw new Error('the root task was not claimed')
    await finish(root)
    const [rootRow] = await db.database.rows<{ downstream: string[] }>(
      sql`select downstream from podline.task_runs where run_id = ${runId}::uuid and task = 'root'`,
    )
    expect(rootRow?.downstream).toEqual(middles(width))
    const claimed: Claimed[] = []
    for (let batch = await claim(1000); batch.length > 0; batch = await claim(1000)) claimed.push(...batch)
    expect(claimed.map((c) => c.task).sort()).toEqual(middles(width).sort())
    const last = claimed.pop()
    if (!last) throw new Error('no middle task was claimed')
    // Most end together in one round, as a batch of completions does; some one by one, at once.
    await endTogether(runId, claimed.slice(20))
    await finishAll(claimed.slice(0, 20), finish)
    expect(await counts(runId, 'join')).toEqual({
      task: 'join',
      state: 'pending',
      total: width,
      success: width - 1,
      failed: 0,
      skipped: 0,
      done: width - 1,
    })
    expect(await claim()).toEqual([])
    await finish(last)
    expect(await counts(runId, 'join')).toMatchObject({ state: 'queued', success: width, done: width })
    expect(await decidedEvents(runId, 'join')).toEqual(['queued'])
    const next = await claim()
    expect(next.map((c) => c.task)).toEqual(['join'])
    await finish(next[0] as Claimed)
    expect((await runStatus(db.database, runId))?.run.state).toBe('success')
    expect(await drift(runId)).toEqual([])
  })

  it('retrying a failed middle task keeps the fan-in task waiting until that task succeeds', async () => {
    const { runId, claim, finish } = await start(fanIn('retried-fan-in', 5))
    for (const c of await claim()) await finish(c)
    const firstTry = await claim()
    for (const c of firstTry)
      await finish(c, c.task === 'm2' ? { state: 'failed', error: 'bad row' } : undefined)
    expect(await counts(runId, 'join')).toMatchObject({
      state: 'upstream_failed',
      success: 4,
      failed: 1,
      done: 5,
    })
    expect((await runStatus(db.database, runId))?.run.state).toBe('failed')

    expect(await retryRun(db.database, runId)).toBe(2)
    expect(await counts(runId, 'join')).toMatchObject({ state: 'pending', success: 4, failed: 0, done: 4 })
    expect(await drift(runId)).toEqual([])
    // The task fails again, retryable: the fan-in task must not move.
    const [again] = await claim()
    expect(again?.task).toBe('m2')
    await finish(again as Claimed, { state: 'up_for_retry', error: 'still bad', retryDelayMs: 0 })
    expect(await counts(runId, 'join')).toMatchObject({ state: 'pending', done: 4 })
    const [third] = await claim()
    expect(third?.task).toBe('m2')
    expect(await counts(runId, 'join')).toMatchObject({ state: 'pending', done: 4 })
    await finish(third as Claimed)
    expect(await counts(runId, 'join')).toMatchObject({ state: 'queued', success: 5, failed: 0, done: 5 })
    const [join] = await claim()
    expect(join?.task).toBe('join')
    await finish(join as Claimed)
    expect((await runStatus(db.database, runId))?.run.state).toBe('success')
    expect(await decidedEvents(runId, 'join')).toEqual(['upstream_failed', 'queued'])
    expect(await drift(runId)).toEqual([])
  })

  it('decides every trigger rule from the counts, through cascades of tasks that end without running', async () => {
    const rules = TRIGGER_RULES
    const { runId, claim, finish } = await start(
      dag('mixed-fan-in', [
        { name: 'root' },
        ...['ok', 'bad', 'skip'].map((name) => ({ name, needs: ['root'] })),
        ...rules.map((rule) => ({ name: named(rule), needs: ['ok', 'bad', 'skip'], triggerRule: rule })),
        // Behind the rules: reached through skipped and upstream_failed tasks as well as queued ones.
        ...rules.map((rule) => ({
          name: `after-${named(rule)}`,
          needs: [named(rule)],
          triggerRule: 'all_done' as const,
        })),
      ]),
    )
    for (const c of await claim()) await finish(c)
    for (const c of await claim()) {
      await finish(
        c,
        c.task === 'bad'
          ? { state: 'failed', error: 'no' }
          : c.task === 'skip'
            ? { state: 'skipped', reason: 'nothing to do' }
            : undefined,
      )
    }
    const expected = { queue: 'queued', skip: 'skipped', upstream_failed: 'upstream_failed', wait: 'pending' }
    for (const rule of rules) {
      const c = await counts(runId, named(rule))
      expect(c).toMatchObject({ total: 3, success: 1, failed: 1, skipped: 1, done: 3 })
      expect(c?.state).toBe(expected[decidePromotion(rule, c as Counts)])
    }
    // Finish what was queued; the tasks behind the rules (all_done) all run.
    for (let batch = await claim(); batch.length > 0; batch = await claim())
      for (const c of batch) await finish(c)
    for (const rule of rules) expect((await counts(runId, `after-${named(rule)}`))?.state).toBe('success')
    expect(await drift(runId)).toEqual([])
  })

  it('stay true through a cancel and the retry after it', async () => {
    const { runId, claim, finish } = await start(fanIn('cancelled-fan-in', 3))
    for (const c of await claim()) await finish(c)
    const [first] = await claim(1)
    await finish(first as Claimed)
    expect(await cancelRun(db.database, runId)).toBe(true)
    expect(await counts(runId, 'join')).toMatchObject({ state: 'cancelled', success: 1, done: 3 })
    expect(await drift(runId)).toEqual([])
    await retryRun(db.database, runId)
    expect(await counts(runId, 'join')).toMatchObject({ state: 'pending', success: 1, done: 1 })
    expect(await drift(runId)).toEqual([])
    for (let batch = await claim(); batch.length > 0; batch = await claim()) await finishAll(batch, finish)
    expect((await runStatus(db.database, runId))?.run.state).toBe('success')
    expect(await decidedEvents(runId, 'join')).toEqual(['queued'])
  })

  it('stay true when a run fails on its params', async () => {
    const { runId, claim, finish } = await start(fanIn('bad-params-fan-in', 3))
    for (const c of await claim()) await finish(c)
    const [first] = await claim(1)
    await failRunOnParams(db.database, runId, 'params: date is required', 'w')
    expect(await counts(runId, 'join')).toMatchObject({ state: 'upstream_failed', failed: 2, done: 2 })
    // The task still running meets the same params and fails the same way.
    await finish(first as Claimed, { state: 'failed', error: 'params: date is required' })
    expect(await counts(runId, 'join')).toMatchObject({ failed: 3, done: 3 })
    expect(await drift(runId)).toEqual([])
    expect((await runStatus(db.database, runId))?.run.state).toBe('failed')
  })
})

describe('a run a runner from before the counts advanced', () => {
  it('is recounted and moved on by the reconciler', async () => {
    const { runId, claim, finish } = await start(fanIn('old-runner-fan-in', 3))
    // Created as that runner creates runs: no edges.
    await db.database.rows(sql`update podline.task_runs set downstream = '{}' where run_id = ${runId}::uuid`)
    const [root] = await claim()
    await finish(root as Claimed)
    expect(await claim()).toEqual([])
    expect(await reconcile(db.database, null)).toMatchObject({ promoted: 1 })
    expect(await drift(runId)).toEqual([])
    const [first, ...rest] = await claim()
    expect([first, ...rest].map((c) => c?.task).sort()).toEqual(['m0', 'm1', 'm2'])
    // One of them ended by that runner: its state, without the count.
    await db.database.rows(
      sql`update podline.task_runs set state = 'success', lease_owner = null where id = ${first?.id}::bigint`,
    )
    for (const c of rest) await finish(c)
    expect(await counts(runId, 'join')).toMatchObject({ state: 'pending', done: 2 })
    expect(await reconcile(db.database, null)).toMatchObject({ promoted: 1 })
    expect(await counts(runId, 'join')).toMatchObject({ state: 'queued', success: 3, done: 3 })
    const [join] = await claim()
    await finish(join as Claimed)
    expect((await runStatus(db.database, runId))?.run.state).toBe('success')
    expect(await reconcile(db.database, null)).toMatchObject({ promoted: 0 })
  })
})

describe('the migration to upstream counts', () => {
  it('gives task runs made before it their edges and counts, and their open runs finish', async () => {
    // The migrations before this one, in a folder of their own, with their journal.
    const previous = mkdtempSync(join(tmpdir(), 'podline-migrations-'))
    const scratch = await emptyDatabase('podline_test_counts_migration')
    const client = postgres(scratch.url, { max: 1, onnotice: () => {} })
    try {
      cpSync(MIGRATIONS_FOLDER, previous, { recursive: true })
      const journalPath = join(previous, 'meta', '_journal.json')
      const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ tag: string }> }
      const at = journal.entries.findIndex((e) => e.tag.endsWith('_upstream_counters'))
      expect(at).toBeGreaterThan(0)
      for (const e of journal.entries.slice(at)) rmSync(join(previous, `${e.tag}.sql`))
      writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }))
      await migrate(drizzle({ client }), { migrationsFolder: previous })

      // A run of root → a, b, c → join (all_done) as the runner before it left it: root and a
      // succeeded, b failed, c running.
      const [run] = await client<{ id: string }[]>`
        insert into podline.runs (id, pipeline, version, params, state)
        values (gen_random_uuid(), 'old', 'v1', '{}', 'running') returning id::text`
      const runId = run?.id as string
      const rows: Array<[string, string[], string, string, boolean]> = [
        ['root', [], 'all_success', 'success', false],
        ['a', ['root'], 'all_success', 'success', false],
        ['b', ['root'], 'all_success', 'failed', false],
        ['c', ['root'], 'all_success', 'running', false],
        ['join', ['a', 'b', 'c'], 'all_done', 'pending', true],
      ]
      for (const [task, needs, rule, state, leaf] of rows)
        await client`
          insert into podline.task_runs (run_id, pipeline, version, task, kind, needs, is_leaf, trigger_rule, state,
                                         max_attempts, retries, retry_delay)
          values (${runId}::uuid, 'old', 'v1', ${task}, 'task', ${needs}, ${leaf}, ${rule}, ${state}, 1, 0, '0')`

      const migrated = await openDatabase({ databaseUrl: scratch.url, poolSize: 1 })
      try {
        await migrated.migrate()
        const edges = await migrated.rows<{ task: string; downstream: string[] }>(
          sql`select task, downstream from podline.task_runs where run_id = ${runId}::uuid order by id`,
        )
        expect(edges).toEqual([
          { task: 'root', downstream: ['a', 'b', 'c'] },
          { task: 'a', downstream: ['join'] },
          { task: 'b', downstream: ['join'] },
          { task: 'c', downstream: ['join'] },
          { task: 'join', downstream: [] },
        ])
        const [join] = await migrated.rows<{ counts: number[] }>(
          sql`select array[upstreams_succeeded, upstreams_failed, upstreams_skipped, upstreams_done] as counts
              from podline.task_runs where run_id = ${runId}::uuid and task = 'join'`,
        )
        expect(join?.counts).toEqual([1, 1, 0, 2])
        // c ends, as its worker would report it: the fan-in task is decided from the migrated counts.
        await migrated.db.transaction(async (tx) => {
          await tx.execute(
            sql`update podline.task_runs set state = 'success' where run_id = ${runId}::uuid and task = 'c'`,
          )
          expect(await promoteDownstream(migrated, tx, runId, ['c'], null)).toEqual({
            queued: 1,
            runFinished: false,
          })
        })
        const [after] = await migrated.rows<{ state: string }>(
          sql`select state from podline.task_runs where run_id = ${runId}::uuid and task = 'join'`,
        )
        expect(after?.state).toBe('queued')
      } finally {
        await migrated.close()
      }
    } finally {
      await client.end()
      await scratch.drop()
      rmSync(previous, { recursive: true, force: true })
    }
  })

  it('a batch of endings counts once: in its own statement, or through promotion when a downstream task ends in the batch too', async () => {
    const wide = fanIn('counts-batched', 5)
    const fan = await start(wide)
    const [root] = await fan.claim()
    await fan.finish(root as Claimed)
    const mids = await fan.claim()
    const ending = (runId: string) => (c: Claimed) => ({
      ref: { ...c, runId, workerId: 'w' },
      outcome: { state: 'success' as const, output: 1, size: 1 },
    })
    expect(await finishAttempts(db.database, 'w', mids.map(ending(fan.runId)))).toEqual(mids.map(() => true))
    expect(await counts(fan.runId, 'join')).toMatchObject({ state: 'queued', success: 5, done: 5 })
    expect(await drift(fan.runId)).toEqual([])

    // c runs as soon as a succeeds (one_success); b and c then end in one batch.
    const overlapping = await start(
      dag('counts-overlap', [
        { name: 'a' },
        { name: 'b' },
        { name: 'c', needs: ['a', 'b'], triggerRule: 'one_success' },
        { name: 'd', needs: ['c'] },
      ]),
    )
    const roots = await overlapping.claim()
    await overlapping.finish(roots.find((r) => r.task === 'a') as Claimed)
    const [c] = await overlapping.claim()
    expect(c?.task).toBe('c')
    const b = roots.find((r) => r.task === 'b') as Claimed
    expect(await finishAttempts(db.database, 'w', [b, c as Claimed].map(ending(overlapping.runId)))).toEqual([
      true,
      true,
    ])
    expect(await counts(overlapping.runId, 'c')).toMatchObject({ state: 'success', success: 2, done: 2 })
    expect(await counts(overlapping.runId, 'd')).toMatchObject({ state: 'queued', success: 1, done: 1 })
    expect(await drift(overlapping.runId)).toEqual([])
  })
})
