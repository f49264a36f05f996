import { type AnyPipeline, pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import {
  type Database,
  deletePool,
  listPools,
  openDatabase,
  registerPlans,
  setPool,
  triggerPipeline,
  UnknownPoolError,
  Worker,
  type WorkerOptions,
} from '../index.js'
import { claimTaskRuns } from '../queue/claim-task-runs.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

/**
 * How many task runs the race drains through a pool of 3. npm test runs 2,000 (about 18 s on two
 * shared cores); `POOL_RACE_TASKS=10000` runs the figure (77 s there, so not by default).
 */
const RACE_TASKS = Number(process.env.POOL_RACE_TASKS ?? 2000)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Reads, every 10 ms on a connection of its own, how many task runs of `pool` are running and the
 * slots they take, until stopped; returns the largest of each and how many samples it took.
 */
function samplePool(url: string, pool: string) {
  const client = postgres(url, { max: 1, onnotice: () => {} })
  let stopped = false
  let samples = 0
  let maxRunning = 0
  let maxSlots = 0
  /** The 1-slot task runs seen running beside a 2-slot one, at most. */
  let maxBesideBig = 0
  const loop = (async () => {
    while (!stopped) {
      const [row] = await client<{ running: number; slots: number; big: number; small: number }[]>`
        select count(*)::int as running, coalesce(sum(pool_slots), 0)::int as slots,
               count(*) filter (where pool_slots = 2)::int as big, count(*) filter (where pool_slots = 1)::int as small
        from podline.task_runs where pool = ${pool} and state = 'running'`
      samples++
      maxRunning = Math.max(maxRunning, row?.running ?? 0)
      maxSlots = Math.max(maxSlots, row?.slots ?? 0)
      if (row && row.big > 0) maxBesideBig = Math.max(maxBesideBig, row.small)
      await sleep(10)
    }
  })()
  return {
    async stop() {
      stopped = true
      await loop
      await client.end()
      return { samples, maxRunning, maxSlots, maxBesideBig }
    },
  }
}

/** Workers of their own, each with its own connections, as separate processes would have. */
async function startWorkers(
  url: string,
  count: number,
  pipelines: readonly AnyPipeline[],
  options: Partial<WorkerOptions> = {},
) {
  const databases: Database[] = []
  const workers: Worker[] = []
  for (let i = 0; i < count; i++) {
    const database = await openDatabase({ databaseUrl: url, poolSize: 6 })
    databases.push(database)
    workers.push(
      new Worker({
        database,
        pipelines,
        concurrency: 4,
        pollMs: 500,
        leaseThread: false,
        id: `w${i}`,
        ...options,
      }),
    )
  }
  await Promise.all(workers.map((w) => w.start()))
  return {
    workers,
    async stop() {
      await Promise.all(workers.map((w) => w.stop({ drainMs: 5000 })))
      for (const d of databases) await d.close()
    },
  }
}

/** `count` runs of one-task `p` queued at once, each task run taking `slots` of its pool, as bulk rows. */
async function queueRuns(database: Database, p: AnyPipeline, count: number, slots: number) {
  const plan = p.plan()
  const task = plan.tasks[0]
  await database.rows(sql`
    with r as (
      insert into podline.runs (id, pipeline, version, params, state)
      select gen_random_uuid(), ${plan.name}, ${plan.version}, '{}'::jsonb, 'queued'
      from generate_series(1, ${count}) returning id
    )
    insert into podline.task_runs (run_id, pipeline, version, task, kind, needs, is_leaf, trigger_rule, state,
                                   max_attempts, retries, retry_delay, pool, pool_slots)
    select id, ${plan.name}, ${plan.version}, ${task?.name}, 'task', '{}', true, 'all_success', 'queued', 1, 0,
           '{"initialMs": 1000, "factor": 2, "maxMs": 300000, "jitter": 0.2}'::jsonb, ${task?.options.pool}, ${slots}
    from r`)
}

describe('pools', () => {
  const db = useFreshDatabase({ poolSize: 12 })

  it(`never lets the task runs of a pool of 3 take more than 3 slots, with 4 workers racing over ${RACE_TASKS} tasks`, async () => {
    await setPool(db.database, { name: 'race', slots: 3 })
    const executions = new Map<string, number>()
    let inFlight = 0
    let maxInFlight = 0
    const race = pipeline('pool-race').task('work', { pool: 'race' }, async (_inputs, ctx) => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      executions.set(ctx.runId, (executions.get(ctx.runId) ?? 0) + 1)
      await sleep(1)
      inFlight--
      return 1
    })
    await registerPlans(db.database, [race.plan()])
    await queueRuns(db.database, race, RACE_TASKS, 1)
    const sampler = samplePool(db.url, 'race')
    let seen: Awaited<ReturnType<typeof sampler.stop>>
    const fleet = await startWorkers(db.url, 4, [race])
    try {
      await waitUntil(
        `all ${RACE_TASKS} task runs of the pool to succeed`,
        async () => {
          const [row] = await db.database.rows<{ n: number }>(
            sql`select count(*)::int as n from podline.task_runs where state = 'success'`,
          )
          return row?.n === RACE_TASKS
        },
        240_000,
        200,
      )
    } finally {
      await fleet.stop()
      seen = await sampler.stop()
    }
    console.log(
      `pool race: ${RACE_TASKS} tasks, 4 workers, ${seen.samples} samples, at most ${seen.maxRunning} running (${maxInFlight} executing in process)`,
    )
    expect(seen.samples).toBeGreaterThan(10)
    expect(seen.maxRunning).toBeLessThanOrEqual(3)
    expect(maxInFlight).toBeLessThanOrEqual(3)
    // The pool was used to the full, not drained one at a time.
    expect(seen.maxRunning).toBe(3)
    // Each task ran once: one claim, one attempt, one execution.
    expect(executions.size).toBe(RACE_TASKS)
    expect([...executions.values()].every((n) => n === 1)).toBe(true)
    const [claims] = await db.database.rows<{ once: number; workers: number }>(sql`
      select count(*) filter (where claims = 1 and attempt = 1)::int as once,
             (select count(distinct worker)::int from podline.events where to_state = 'running') as workers
      from podline.task_runs`)
    expect(claims?.once).toBe(RACE_TASKS)
    expect(claims?.workers).toBe(4)
    // What `podline pools` shows once the race is over.
    expect(await listPools(db.database)).toEqual([
      { name: 'race', slots: 3, description: null, runningSlots: 0, queued: 0 },
    ])
  }, 300_000)

  it('splits a large pool into parts claimed side by side, whose task runs together never take more than its slots', async () => {
    // 600 slots: two parts of 300. Tasks of 100 slots: 6 at once fill the pool, 3 in each part.
    await setPool(db.database, { name: 'wide', slots: 600 })
    const parts = () =>
      db.database.rows<{ part: number }>(
        sql`select part from podline.pool_parts where pool = 'wide' order by part`,
      )
    expect(await parts()).toEqual([{ part: 0 }, { part: 1 }])
    const wide = pipeline('pool-wide').task('work', { pool: 'wide', poolSlots: 100 }, async () => {
      await sleep(5)
      return 1
    })
    await registerPlans(db.database, [wide.plan()])
    await queueRuns(db.database, wide, 300, 100)
    const sampler = samplePool(db.url, 'wide')
    let seen: Awaited<ReturnType<typeof sampler.stop>>
    const fleet = await startWorkers(db.url, 4, [wide])
    try {
      await waitUntil(
        'the 300 task runs of the wide pool to succeed',
        async () => {
          const [row] = await db.database.rows<{ n: number }>(
            sql`select count(*)::int as n from podline.task_runs where pool = 'wide' and state = 'success'`,
          )
          return row?.n === 300
        },
        120_000,
        200,
      )
    } finally {
      await fleet.stop()
      seen = await sampler.stop()
    }
    expect(seen.samples).toBeGreaterThan(10)
    expect(seen.maxSlots).toBeLessThanOrEqual(600)
    // More than one part's share ran at once: the claims took both parts.
    expect(seen.maxSlots).toBeGreaterThan(300)
    const byPart = await db.database.rows<{ part: number; n: number }>(sql`
      select pool_part as part, count(*)::int as n from podline.task_runs where pool = 'wide'
      group by pool_part order by pool_part`)
    expect(byPart.map((r) => r.part)).toEqual([0, 1])
    // Shrunk below 512 slots, the pool is one part again, and a task run running in the part removed
    // counts in the part that remains; grown, the pool splits again (at most 8).
    const [moved] = await db.database.rows<{ id: string }>(sql`
      update podline.task_runs set state = 'running', lease_owner = 'w-gone', pool_part = 1
      where id = (select min(id) from podline.task_runs where pool = 'wide') returning id::text as id`)
    await setPool(db.database, { name: 'wide', slots: 300 })
    expect(await parts()).toEqual([{ part: 0 }])
    const [after] = await db.database.rows<{ part: number }>(
      sql`select pool_part as part from podline.task_runs where id = ${moved?.id}::bigint`,
    )
    expect(after?.part).toBe(0)
    expect(await listPools(db.database)).toContainEqual(
      expect.objectContaining({ name: 'wide', runningSlots: 100 }),
    )
    await setPool(db.database, { name: 'wide', slots: 100_000 })
    expect((await parts()).length).toBe(8)
  }, 180_000)

  it('a task taking 2 slots of a pool of 3 runs beside at most one 1-slot task, and is not starved by them', async () => {
    await setPool(db.database, { name: 'weighted', slots: 3 })
    let executing = 0
    let bigs = 0
    let smalls = 0
    let maxExecuting = 0
    let maxBesideBig = 0
    const busy = (slots: number, ms: number) => async () => {
      executing += slots
      if (slots === 2) bigs++
      else smalls++
      maxExecuting = Math.max(maxExecuting, executing)
      if (bigs > 0) maxBesideBig = Math.max(maxBesideBig, smalls)
      await sleep(ms)
      executing -= slots
      if (slots === 2) bigs--
      else smalls--
      return slots
    }
    // The 1-slot tasks come first in the queue (priority), so the 2-slot one waits for room among them.
    const small = { pool: 'weighted', priority: 1 }
    const withBig = pipeline('weighted')
      .task('s0', small, busy(1, 40))
      .task('s1', small, busy(1, 40))
      .task('s2', small, busy(1, 40))
      .task('s3', small, busy(1, 40))
      .task('big', { pool: 'weighted', poolSlots: 2 }, busy(2, 120))
    const sampler = samplePool(db.url, 'weighted')
    let seen: Awaited<ReturnType<typeof sampler.stop>>
    const fleet = await startWorkers(db.url, 2, [withBig])
    try {
      await Promise.all(Array.from({ length: 6 }, () => triggerPipeline(db.database, withBig, {})))
      await waitUntil('every weighted run to succeed', async () => {
        const [row] = await db.database.rows<{ n: number }>(
          sql`select count(*)::int as n from podline.runs where pipeline = 'weighted' and state = 'success'`,
        )
        return row?.n === 6
      })
    } finally {
      await fleet.stop()
      seen = await sampler.stop()
    }
    expect(seen.maxSlots).toBeLessThanOrEqual(3)
    expect(seen.maxBesideBig).toBeLessThanOrEqual(1)
    expect(maxExecuting).toBeLessThanOrEqual(3)
    expect(maxBesideBig).toBeLessThanOrEqual(1)
    // The pool was full at times (2 + 1 or three 1-slot tasks), so this is not the trivial case.
    expect(seen.maxSlots).toBe(3)
  }, 120_000)

  it("gives a dead worker's slots back with its lease: the reconciler requeues, another worker runs it", async () => {
    await setPool(db.database, { name: 'solo', slots: 1 })
    const solo = pipeline('solo').task('work', { pool: 'solo' }, () => 'done')
    const version = solo.plan().version
    const lanes = [{ version, kind: 'task' as const, pool: 'solo' }]
    await registerPlans(db.database, [solo.plan()])
    const first = await triggerPipeline(db.database, solo, {})
    const second = await triggerPipeline(db.database, solo, {})
    // A worker that claims the pool's one slot and dies: its lease is never renewed.
    const dead = await claimTaskRuns(db.database, {
      workerId: 'dead',
      versions: [version],
      limit: 2,
      leaseMs: 300,
      pools: lanes,
    })
    expect(dead.map((c) => c.runId)).toEqual([first])
    // The slot is taken: nobody else gets the second task while the dead worker's lease stands.
    expect(
      await claimTaskRuns(db.database, {
        workerId: 'other',
        versions: [version],
        limit: 2,
        leaseMs: 30_000,
        pools: lanes,
      }),
    ).toEqual([])
    const sampler = samplePool(db.url, 'solo')
    let seen: Awaited<ReturnType<typeof sampler.stop>>
    const fleet = await startWorkers(db.url, 1, [solo], { reconcileMs: 100, pollMs: 100 })
    try {
      for (const runId of [first, second])
        await waitUntil(`run ${runId} to succeed`, async () => {
          const [row] = await db.database.rows<{ state: string }>(
            sql`select state from podline.runs where id = ${runId}::uuid`,
          )
          return row?.state === 'success'
        })
    } finally {
      await fleet.stop()
      seen = await sampler.stop()
    }
    expect(seen.maxRunning).toBeLessThanOrEqual(1)
    const events = await db.database.rows<{ worker: string | null; message: string | null }>(sql`
      select worker, message from podline.events
      where run_id = ${first}::uuid and task = 'work' and to_state = 'running' order by id`)
    expect(events).toEqual([
      { worker: 'dead', message: null },
      { worker: 'w0', message: 'continues attempt 1, taken over' },
    ])
  }, 60_000)

  it("takes each item's slots for a mapped task, and none for the mapped task's own row once expanded", async () => {
    await setPool(db.database, { name: 'items', slots: 2 })
    let executing = 0
    let maxExecuting = 0
    const mapped = pipeline('pooled-items')
      .task('list', () => [1, 2, 3, 4, 5, 6, 7, 8])
      .map('each', { needs: ['list'], over: ({ list }) => list, pool: 'items' }, async (n) => {
        executing++
        maxExecuting = Math.max(maxExecuting, executing)
        await sleep(30)
        executing--
        return n * 2
      })
    const fleet = await startWorkers(db.url, 2, [mapped])
    let maxLeased = 0
    try {
      const runId = await triggerPipeline(db.database, mapped, {})
      await waitUntil(
        'the mapped run to succeed',
        async () => {
          const [row] = await db.database.rows<{ state: string; leased: number }>(sql`
          select (select state from podline.runs where id = ${runId}::uuid) as state,
                 (select count(*)::int from podline.task_runs
                  where pool = 'items' and state = 'running' and lease_owner is not null) as leased`)
          maxLeased = Math.max(maxLeased, row?.leased ?? 0)
          return row?.state === 'success'
        },
        30_000,
        10,
      )
    } finally {
      await fleet.stop()
    }
    expect(maxExecuting).toBe(2)
    expect(maxLeased).toBeLessThanOrEqual(2)
    const rows = await db.database.rows<{ map_index: number; pool: string; pool_slots: number }>(sql`
      select map_index, pool, pool_slots from podline.task_runs where task = 'each' order by map_index limit 2`)
    expect(rows).toEqual([
      { map_index: -1, pool: 'items', pool_slots: 1 },
      { map_index: 0, pool: 'items', pool_slots: 1 },
    ])
  }, 60_000)

  it('refuses to register a pipeline whose task names a pool that does not exist, saying how to create it', async () => {
    const orphan = pipeline('orphan')
      .task('extract', () => 1)
      .task('load', { needs: ['extract'], pool: 'warehouse' }, () => 1)
      .pod('copy', { pool: 'lake', poolSlots: 2 }, { image: 'alpine:3.20' })
    const message =
      'task "load" of pipeline "orphan" takes slots of pool "warehouse", which does not exist; ' +
      'task "copy" of pipeline "orphan" takes slots of pool "lake", which does not exist. ' +
      'Create them with podline pools set warehouse --slots N and podline pools set lake --slots N ' +
      '(N: how many of its task runs may run at once across all workers), or remove the pool from the task'
    const worker = new Worker({ database: db.database, pipelines: [orphan], leaseThread: false })
    await expect(worker.start()).rejects.toThrow(UnknownPoolError)
    await expect(worker.start()).rejects.toThrow(message)
    await expect(triggerPipeline(db.database, orphan, {})).rejects.toThrow(message)
    const registered = await db.database.rows(sql`select 1 from podline.pipelines where name = 'orphan'`)
    expect(registered).toEqual([])
    // Once the pools exist it registers.
    await setPool(db.database, { name: 'warehouse', slots: 2 })
    await setPool(db.database, { name: 'lake', slots: 4 })
    await registerPlans(db.database, [orphan.plan()])
  })

  it('sets, lists and deletes pools; a pool in use is not deleted, and one deleted under waiting work shows as missing', async () => {
    await setPool(db.database, { name: 'ops', slots: 2, description: 'the ops database' })
    expect(await setPool(db.database, { name: 'ops', slots: 5 })).toEqual({ previousSlots: 2 })
    const ops = pipeline('ops-pool')
      .task('a', { pool: 'ops' }, () => 1)
      .task('b', { needs: ['a'], pool: 'ops' }, () => 1)
    const runId = await triggerPipeline(db.database, ops, {})
    const listed = (await listPools(db.database)).find((p) => p.name === 'ops')
    expect(listed).toEqual({
      name: 'ops',
      slots: 5,
      description: 'the ops database',
      runningSlots: 0,
      queued: 1,
    })
    expect(await deletePool(db.database, 'ops')).toEqual({
      outcome: 'in-use',
      users: { running: 0, queued: 1, pending: 1 },
    })
    await db.database.rows(
      sql`update podline.task_runs set state = 'cancelled' where run_id = ${runId}::uuid`,
    )
    expect(await deletePool(db.database, 'ops')).toEqual({ outcome: 'deleted' })
    expect(await deletePool(db.database, 'ops')).toEqual({ outcome: 'missing' })
    // A run made from the plan after the pool went (the version was registered before): it waits.
    await db.database.rows(
      sql`update podline.task_runs set state = 'queued' where run_id = ${runId}::uuid and task = 'a'`,
    )
    expect((await listPools(db.database)).find((p) => p.name === 'ops')).toEqual({
      name: 'ops',
      slots: null,
      description: null,
      runningSlots: 0,
      queued: 1,
    })
    // A description is kept unless given; '' clears it.
    await setPool(db.database, { name: 'ops', slots: 1, description: 'back' })
    await setPool(db.database, { name: 'ops', slots: 3 })
    expect((await listPools(db.database)).find((p) => p.name === 'ops')?.description).toBe('back')
    await setPool(db.database, { name: 'ops', slots: 3, description: '' })
    expect((await listPools(db.database)).find((p) => p.name === 'ops')?.description).toBeNull()
    await expect(setPool(db.database, { name: 'bad name', slots: 1 })).rejects.toThrow(
      /invalid pool name "bad name"/,
    )
    await expect(setPool(db.database, { name: 'ops', slots: -1 })).rejects.toThrow(
      'pool "ops": slots must be a whole number from 0 up, got -1',
    )
  })
})
