import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'

/**
 * Pauses or unpauses a pipeline's schedule; false when the pipeline has none. While paused no tick
 * is created. Unpausing with catchup off skips the paused ticks (ticks_after moves to now, by the
 * database's clock); with catchup on, the next pass creates them, at most maxCatchup.
 */
export async function setSchedulePaused(
  database: Database,
  pipeline: string,
  paused: boolean,
): Promise<boolean> {
  const rows = await database.rows<{ pipeline: string }>(sql`
    update podline.schedules
    set paused = ${paused},
        ticks_after = case when ${!paused} and paused and not catchup then now() else ticks_after end,
        updated_at = now()
    where pipeline = ${pipeline}
    returning pipeline`)
  return rows.length > 0
}
