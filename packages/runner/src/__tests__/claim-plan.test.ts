import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { type ClaimOptions, claimStatement } from '../queue/claim-task-runs.js'
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
  beforeAll(async () => {
    await db.database.rows(sql`
      with r as (
        insert into podline.runs (id, pipeline, version, params, state)
        select gen_random_uuid(), 'unloaded', 'v-unloaded', '{}'::jsonb, 'queued' from generate_series(1, 20000)
        returning id
      )
      insert into podline.task_runs (run_id, pipeline, version, task, kind, needs, is_leaf, trigger_rule, state,
                                     max_attempts, retries, retry_delay)
      select id, 'unloaded', 'v-unloaded', 't', 'task', '{}', true, 'all_success', 'queued', 1, 0,
             '{"initialMs": 1000, "factor": 2, "maxMs": 300000, "jitter": 0.2}'::jsonb
      from r`)
    // And a pipeline with 20,000 queued pods ahead of one inline task: a worker whose pod slots are
    // full claims inline tasks only.
    await db.database.rows(sql`
      with r as (
        insert into podline.runs (id, pipeline, version, params, state)
        select gen_random_uuid(), 'mixed', 'v-mixed', '{}'::jsonb, 'queued' from generate_series(1, 20001)
        returning id
      )
      insert into podline.task_runs (run_id, pipeline, version, task, kind, needs, is_leaf, trigger_rule, state,
                                     max_attempts, retries, retry_delay, available_at)
      select id, 'mixed', 'v-mixed', 't', case when row_number() over () = 20001 then 'task' else 'pod' end,
             '{}', true, 'all_success', 'queued', 1, 0,
             '{"initialMs": 1000, "factor": 2, "maxMs": 300000, "jitter": 0.2}'::jsonb,
             now() - interval '1 hour' + row_number() over () * interval '1 millisecond'
      from r`)
    await db.database.rows(sql`analyze podline.task_runs`)
  }, 60_000)

  async function planOf(options: Omit<ClaimOptions, 'workerId' | 'limit' | 'leaseMs'>): Promise<PlanNode> {
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
})
