import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { claimStatement, claimTaskRuns } from '../queue/claim-task-runs.js'
import { useFreshDatabase } from '../testing/vitest.js'

interface PlanNode {
  'Index Name'?: string
  'Shared Hit Blocks': number
  'Shared Read Blocks': number
  'Actual Rows': number
  'Actual Loops': number
  Plans?: PlanNode[]
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)]

/*
 * Regression: a claimed task's inputs are its needs' return values, and a wide run holds thousands of
 * XComs (a 1 → 10,000 → 1 run's middle tasks each store one). Written as a join, with statistics from
 * before the run grew, the planner read every XCom of the run at each claimed task and hashed them:
 * 5,000 rows per task, 34 ms a claim. Each need must be one probe of the XComs' primary key.
 */
describe("a claimed task's inputs in a run with 5,000 XComs", () => {
  const version = 'v-wide'

  const db = useFreshDatabase()
  beforeAll(async () => {
    const [run] = await db.database.rows<{ id: string }>(sql`
      insert into podline.runs (id, pipeline, version, params, state)
      values (gen_random_uuid(), 'wide', ${version}, '{}'::jsonb, 'running') returning id`)
    const runId = run?.id as string
    await db.database.rows(sql`
      insert into podline.task_runs (run_id, pipeline, version, task, kind, needs, is_leaf, trigger_rule, state,
                                     max_attempts, retries, retry_delay)
      select ${runId}::uuid, 'wide', ${version}, 'm' || n, 'task', '{root}', false, 'all_success', 'queued', 1, 0,
             '{"initialMs": 1000, "factor": 2, "maxMs": 300000, "jitter": 0.2}'::jsonb
      from generate_series(1, 20) n`)
    // Statistics from before the XComs: as when a wide run starts on a table of small ones.
    await db.database.rows(sql`analyze podline.xcoms`)
    await db.database.rows(sql`
      insert into podline.xcoms (run_id, task, key, value, size, attempt)
      select ${runId}::uuid, 'x' || n, 'return_value', to_jsonb(n), 4, 1 from generate_series(1, 5000) n
      union all select ${runId}::uuid, 'root', 'return_value', '"the root"'::jsonb, 10, 1`)
  }, 60_000)

  it('reads each need by its primary key, whatever the run holds, and hands the value over', async () => {
    const [row] = await db.database.rows<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      sql`explain (analyze, buffers, format json) ${claimStatement({ workerId: 'w', versions: [version], limit: 4, leaseMs: 30_000 })}`,
    )
    const plan = row?.['QUERY PLAN'][0]?.Plan as PlanNode
    const probes = nodes(plan).filter((n) => n['Index Name'] === 'xcoms_run_id_task_map_index_key_pk')
    expect(probes.length).toBeGreaterThan(0)
    // One row per need and claimed task, not the run's 5,000.
    for (const probe of probes) expect(probe['Actual Rows']).toBeLessThanOrEqual(1)
    const claimed = await claimTaskRuns(db.database, {
      workerId: 'w',
      versions: [version],
      limit: 4,
      leaseMs: 30_000,
    })
    expect(claimed.map((c) => c.inputs)).toEqual(Array.from({ length: 4 }, () => ({ root: 'the root' })))
  })
})
