import { type SQL, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { type ClaimOptions, claimStatement } from '../queue/claim-task-runs.js'
import { setPool } from '../queue/set-pool.js'
import { useFreshDatabase } from '../testing/vitest.js'

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  'Shared Hit Blocks': number
  'Shared Read Blocks': number
  Plans?: PlanNode[]
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)]

/*
 * Regression: with 20,000 queued runs of a pipeline no worker loads, every claim of every other
 * worker walked the whole queue index to filter those rows out by version. The claim must read a
 * handful of pages whatever is queued for versions it does not serve. Asserts the plan's buffers,
 * not a time.
 */
describe('the claim with 20,000 queued runs of a pipeline no worker loads', () => {
  const db = useFreshDatabase()
  /**
   * `count` queued runs of one pipeline version, each with one task run `t`, whose other columns
   * `columns` names and `values` gives (`n`: the run's number, from 1).
   */
  const queueRuns = (pipeline: string, version: string, count: number, columns: SQL, values: SQL) =>
    db.database.rows(sql`
      with r as (
        insert into podline.runs (id, pipeline, version, params, state)
        select gen_random_uuid(), ${pipeline}, ${version}, '{}'::jsonb, 'queued' from generate_series(1, ${count})
        returning id
      )
      insert into podline.task_runs (run_id, pipeline, version, task, needs, is_leaf, trigger_rule,
                                     max_attempts, retries, retry_delay, ${columns})
      select id, ${pipeline}, ${version}, 't', '{}', true, 'all_success', 1, 0,
             '{"initialMs": 1000, "factor": 2, "maxMs": 300000, "jitter": 0.2}'::jsonb, ${values}
      from (select id, row_number() over () as n from r) r`)
  beforeAll(async () => {
    await queueRuns('unloaded', 'v-unloaded', 20_000, sql`kind, state`, sql`'task', 'queued'`)
    // And a pipeline with 20,000 queued pods ahead of one inline task: a worker whose pod slots are
    // full claims inline tasks only.
    await queueRuns(
      'mixed',
      'v-mixed',
      20_001,
      sql`kind, state, available_at`,
      sql`case when n = 20001 then 'task' else 'pod' end, 'queued', now() - interval '1 hour' + n * interval '1 millisecond'`,
    )
    // And a pipeline whose tasks take slots of two pools: 'full', whose 2 slots are taken by running
    // task runs, with 20,000 queued ahead of one task in no pool and one in 'open', which has room.
    await setPool(db.database, { name: 'full', slots: 2 })
    await setPool(db.database, { name: 'open', slots: 1000 })
    await queueRuns(
      'pooled',
      'v-pooled',
      20_004,
      sql`kind, state, available_at, pool, pool_part, lease_owner`,
      sql`'task', case when n <= 2 then 'running' else 'queued' end,
          now() - interval '1 hour' + n * interval '1 millisecond',
          case when n = 20003 then null when n = 20004 then 'open' else 'full' end,
          case when n <= 2 then 0 end, case when n <= 2 then 'a-worker' end`,
    )
    await db.database.rows(sql`analyze podline.task_runs`)
  }, 60_000)

  async function planOf(options: Omit<ClaimOptions, 'workerId' | 'limit' | 'leaseMs'>): Promise<PlanNode> {
    // EXPLAIN ANALYZE runs the claim: each test claims what it reads.
    const [row] = await db.database.rows<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      sql`explain (analyze, buffers, format json) ${claimStatement({ workerId: 'w', limit: 4, leaseMs: 30_000, ...options })}`,
    )
    const plan = row?.['QUERY PLAN'][0]?.Plan
    if (!plan) throw new Error('no plan')
    return plan
  }
  const buffersOf = (n: PlanNode) => n['Shared Hit Blocks'] + n['Shared Read Blocks']

  it('claims stay fast with 20,000 queued runs of a pipeline no worker loads', async () => {
    const plan = await planOf({ versions: ['v-served'] })
    const scans = nodes(plan).filter((n) => n['Index Name']?.startsWith('task_runs_claim'))
    expect(scans.map((n) => n['Index Name'])).toEqual(['task_runs_claim_version_idx'])
    const buffers = nodes(plan).reduce((max, n) => Math.max(max, buffersOf(n)), 0)
    // A walk over the 20,000 queued rows reads well over a hundred pages; a probe reads a few.
    expect(buffers).toBeLessThan(20)
  })

  it('an inline claim probes past 20,000 queued pods ahead of its task without reading them', async () => {
    const plan = await planOf({ versions: ['v-mixed'], kind: 'task' })
    const [scan, ...more] = nodes(plan).filter((n) => n['Index Name']?.startsWith('task_runs_claim'))
    expect(more).toEqual([])
    expect(scan?.['Index Name']).toBe('task_runs_claim_version_idx')
    expect(buffersOf(scan as PlanNode)).toBeLessThan(20)
  })

  it('a claim with pools probes each pool for its head: a full pool costs it nothing, the rest are claimed', async () => {
    const pools = (['full', 'open'] as const).map((pool) => ({
      version: 'v-pooled',
      kind: 'task' as const,
      pool,
    }))
    const plan = await planOf({ versions: ['v-pooled'], pools })
    const scans = nodes(plan).filter((n) => n['Index Name']?.startsWith('task_runs_'))
    const used = scans.map((n) => n['Index Name'])
    for (const index of [
      'task_runs_claim_version_idx',
      'task_runs_claim_pool_idx',
      'task_runs_pool_running_idx',
    ])
      expect(used).toContain(index)
    // The 20,000 queued task runs of the full pool are never walked: its probe's limit is 0.
    for (const scan of scans) expect(buffersOf(scan)).toBeLessThan(20)
    const claimed = await db.database.rows<{ pool: string | null; state: string }>(sql`
      select pool, state from podline.task_runs where version = 'v-pooled' and lease_owner = 'w' order by pool`)
    expect(claimed).toEqual([
      { pool: 'open', state: 'running' },
      { pool: null, state: 'running' },
    ])
  })
})
