import type { AnyPipeline, PipelinePlan } from '@podline/sdk'
import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { textArray } from '../store/sql-arrays.js'
import { liveWorker } from './workers.js'

/** Instants leave SQL as epoch milliseconds: the drivers return timestamps as text, each its own way. */
export const epochMs = (column: string): SQL => sql.raw(`(extract(epoch from ${column}) * 1000)::float8`)

export interface LoadedPipeline {
  pipeline: AnyPipeline
  plan: PipelinePlan
}

/** Each loaded pipeline with its plan (made once: plan() clones it), one per name and version. */
export function loadedPipelines(pipelines: readonly AnyPipeline[]): LoadedPipeline[] {
  const loaded = new Map<string, LoadedPipeline>()
  for (const pipeline of pipelines) {
    const plan = pipeline.plan()
    loaded.set(`${plan.name}\0${plan.version}`, { pipeline, plan })
  }
  return [...loaded.values()]
}

/**
 * Of the pipelines this worker has loaded, those whose version is in force: the newest version
 * (by registration) that a live worker serves. What a pipeline's code decides for all its runs (its
 * schedule, the runs its assets' events make) is decided by the version in force alone, so two
 * versions deployed side by side never both act. Also returns the database's clock.
 */
export async function versionsInForce(
  database: Database,
  mine: readonly LoadedPipeline[],
): Promise<{ inForce: LoadedPipeline[]; now: Date | undefined }> {
  const loaded = new Map(mine.map((m) => [`${m.plan.name}\0${m.plan.version}`, m]))
  if (mine.length === 0) return { inForce: [], now: undefined }
  const rows = await database.rows<{ name: string; version: string; now: number }>(sql`
    select my.name, my.version, ${epochMs('now()')} as now
    from unnest(${textArray(mine.map((m) => m.plan.name))}, ${textArray(mine.map((m) => m.plan.version))})
      as my(name, version)
    where my.version = (
      select p.version from podline.pipelines p
      where p.name = my.name
        and exists (select 1 from podline.workers w where ${liveWorker('w')} and w.versions ? p.version)
      order by p.created_at desc limit 1)`)
  const inForce = rows.flatMap((row) => {
    const found = loaded.get(`${row.name}\0${row.version}`)
    return found ? [found] : []
  })
  return { inForce, now: rows[0] ? new Date(rows[0].now) : undefined }
}
