import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { runTasks } from '../read-model/run-status.js'
import { type ListRunsOptions, listRuns } from '../read-model/runs-listing.js'
import { useFreshDatabase } from '../testing/vitest.js'

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  'Relation Name'?: string
  'Index Cond'?: string
  Filter?: string
  'Shared Hit Blocks': number
  'Shared Read Blocks': number
  Plans?: PlanNode[]
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)]

/*
 * `podline runs` and `status` on a store with many runs: each page must read the rows it shows
 * through the index of its filter, never scan and sort the runs table. 40,000 runs stand in for a
 * million (a scan here already reads hundreds of pages); asserts the plans and their buffers, not times.
 */
describe('listing runs in a store of 40,000', () => {
  let middle: string

  const db = useFreshDatabase()
  beforeAll(async () => {
    // Four pipelines, mostly succeeded runs, a few failed; created one second apart, newest last.
    await db.database.rows(sql`
      insert into podline.runs (id, pipeline, version, params, state, created_at)
      select gen_random_uuid(), 'p' || (i % 4), 'v', '{}'::jsonb,
             case when i % 97 = 0 then 'failed' else 'success' end,
             now() - (40000 - i) * interval '1 second'
      from generate_series(1, 40000) i`)
    // 120 runs created at the very same instant: the keyset's id breaks the tie.
    await db.database.rows(sql`
      insert into podline.runs (id, pipeline, version, params, state, created_at)
      select gen_random_uuid(), 'ties', 'v', '{}'::jsonb, 'success', now() - interval '1 day'
      from generate_series(1, 120)`)
    await db.database.rows(sql`analyze podline.runs`)
    const [row] = await db.database.rows<{ id: string }>(
      sql`select id from podline.runs where pipeline = 'p1' order by created_at desc offset 5000 limit 1`,
    )
    middle = row?.id ?? ''
  }, 60_000)

  const planOf = async (query: { getSQL(): ReturnType<typeof sql> }) => {
    const [row] = await db.database.rows<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      sql`explain (analyze, buffers, format json) ${query}`,
    )
    const plan = row?.['QUERY PLAN'][0]?.Plan
    if (!plan) throw new Error('no plan')
    return nodes(plan)
  }

  const cases: Array<[string, ListRunsOptions, string]> = [
    ['no filter', {}, 'runs_created_idx'],
    ['--pipeline', { pipeline: 'p1' }, 'runs_pipeline_created_idx'],
    ['--state', { state: 'failed' }, 'runs_state_created_idx'],
    ['--pipeline --state', { pipeline: 'p1', state: 'failed' }, 'runs_pipeline_state_created_idx'],
  ]
  const LISTING_INDEXES = cases.map(([, , index]) => index)
  const buffersOf = (plan: PlanNode[]) =>
    plan.reduce((most, n) => Math.max(most, n['Shared Hit Blocks'] + n['Shared Read Blocks']), 0)

  for (const [name, filter, index] of cases) {
    it(`runs ${name} reads its first page through ${index}, with no scan or sort of runs`, async () => {
      const plan = await planOf(listRuns(db.database, { ...filter, limit: 51 }))
      expect(plan.filter((n) => n['Index Name']).map((n) => n['Index Name'])).toEqual([index])
      expect(plan.map((n) => n['Node Type'])).not.toContain('Sort')
      expect(plan.map((n) => n['Node Type'])).not.toContain('Seq Scan')
      // A scan of the 40,000 runs reads hundreds of pages; a page of 51 through an index, at most one a row.
      expect(buffersOf(plan)).toBeLessThan(60)
    })

    it(`runs ${name} --after seeks to the page in a listing index (the keyset is an index condition)`, async () => {
      const plan = await planOf(listRuns(db.database, { ...filter, limit: 51, after: middle }))
      expect(plan.map((n) => n['Node Type'])).not.toContain('Seq Scan')
      const seeks = plan.filter((n) => n['Index Cond']?.includes('ROW(created_at, id) < ROW('))
      expect(seeks.map((n) => n['Index Name'])).toHaveLength(1)
      expect(LISTING_INDEXES).toContain(seeks[0]?.['Index Name'])
      expect(buffersOf(plan)).toBeLessThan(60)
    })
  }

  it('pages with --after list every run once, in order, even runs created at the same instant', async () => {
    const all = await listRuns(db.database, { pipeline: 'ties', limit: 1000 })
    expect(all).toHaveLength(120)
    const paged: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await listRuns(db.database, { pipeline: 'ties', limit: 50, ...(after ? { after } : {}) })
      paged.push(...page.map((r) => r.id))
      if (page.length < 50) break
      after = page.at(-1)?.id
    }
    expect(paged).toEqual(all.map((r) => r.id))
  })

  it("status reads a run's task runs through the run's index", async () => {
    const plan = await planOf(runTasks(db.database, middle))
    expect(plan.filter((n) => n['Relation Name'] === 'task_runs').map((n) => n['Index Name'])).toEqual([
      'task_runs_run_task_idx',
    ])
  })
})
