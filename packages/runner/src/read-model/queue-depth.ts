import { sql } from 'drizzle-orm'
import { CLAIMABLE_TASK_STATES } from '../engine/states.js'
import { states } from '../queue/sql-values.js'
import type { Database } from '../store/database.js'

/** One pipeline's claimable work: what a worker serving it could claim now, and for how long the oldest waited. */
export interface PipelineQueue {
  pipeline: string
  /** Task runs queued, or up for retry and due. */
  depth: number
  /** Seconds since the longest-waiting of them became claimable; 0 when none waits. */
  oldestSeconds: number
}

/**
 * The queue of every registered pipeline (an empty one included, so a metric drops to 0 rather
 * than vanishing). Claimable as the claim reads it: CLAIMABLE_TASK_STATES, available now.
 */
export function queueByPipeline(database: Database): Promise<PipelineQueue[]> {
  return database.rows<PipelineQueue>(sql`
    select p.name as pipeline, count(t.id)::int as depth,
           coalesce(extract(epoch from now() - min(t.available_at)), 0)::float8 as "oldestSeconds"
    from (select distinct name from podline.pipelines) p
    left join podline.task_runs t
      on t.pipeline = p.name and t.state in ${states(...CLAIMABLE_TASK_STATES)} and t.available_at <= now()
    group by p.name
    order by p.name`)
}
