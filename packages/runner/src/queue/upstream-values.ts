import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { NO_MAP_INDEX } from '../store/schema.js'

/**
 * The return_value XComs of `needs`, as one jsonb object keyed by task. One primary-key probe per
 * need, in a LATERAL that names the whole key: as a join (with `task = any(needs)` as a filter, or
 * with statistics from before a wide run) the planner read every XCom of the run at each claimed task
 * (5,000 rows each, 34 ms a claim of a 1 → 10,000 → 1 run's middle tasks), and a mapped task's run
 * holds one per item.
 */
export function upstreamValues(runId: SQL, needs: SQL): SQL {
  return sql`coalesce((select jsonb_object_agg(need.task, x.value)
                       from unnest(${needs}) as need(task)
                       cross join lateral (
                         select value from podline.xcoms
                         where run_id = ${runId} and task = need.task and map_index = ${NO_MAP_INDEX}
                           and key = 'return_value'
                         -- The key is unique: LIMIT changes nothing but keeps the planner from
                         -- flattening the LATERAL into a join (which it then hashed over the run).
                         limit 1
                       ) x), '{}'::jsonb)`
}

/** The inputs every item of a mapped task shares: its upstream values, read once per worker. */
export async function loadItemInputs(
  database: Database,
  runId: string,
  task: string,
): Promise<Record<string, unknown>> {
  const [row] = await database.rows<{ inputs: Record<string, unknown> }>(sql`
    select ${upstreamValues(sql`t.run_id`, sql`t.needs`)} as inputs from podline.task_runs t
    where t.run_id = ${runId}::uuid and t.task = ${task} and t.map_index = ${NO_MAP_INDEX}`)
  if (!row) throw new Error(`mapped task "${task}" of run ${runId} has no row: its items have no inputs`)
  return row.inputs
}
