import { and, desc, eq, gte, lte, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { type RunState, runs } from '../store/schema.js'

// Runs, newest first: a page of them, or the ones whose id starts with what the user typed.

export interface ListRunsOptions {
  pipeline?: string
  state?: RunState
  /** Default 50. */
  limit?: number
  /** The next page: only runs listed after this one (older, or as old with a smaller id). */
  after?: string
}

/**
 * Runs newest first, a page at a time: (created_at, id) is the keyset, so a page costs the rows it
 * shows however many runs there are, through the index of its filter (runs_created_idx,
 * runs_pipeline_created_idx, runs_state_created_idx, runs_pipeline_state_created_idx). The columns
 * are listed so a listing never reads more than a run's own row (never its XComs or logs).
 */
export function listRuns(database: Database, options: ListRunsOptions = {}) {
  return database.db
    .select({
      id: runs.id,
      pipeline: runs.pipeline,
      version: runs.version,
      params: runs.params,
      state: runs.state,
      error: runs.error,
      createdAt: runs.createdAt,
      startedAt: runs.startedAt,
      finishedAt: runs.finishedAt,
      logicalDate: runs.logicalDate,
    })
    .from(runs)
    .where(
      and(
        options.pipeline ? eq(runs.pipeline, options.pipeline) : undefined,
        options.state ? eq(runs.state, options.state) : undefined,
        options.after
          ? sql`(${runs.createdAt}, ${runs.id}) < (select c.created_at, c.id from podline.runs c where c.id = ${options.after}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(options.limit ?? 50)
}

/** The newest `limit` runs whose ids lie between `low` and `high` (a typed prefix of a run id, as a range of the primary key). */
export function runsInIdRange(database: Database, range: { low: string; high: string; limit: number }) {
  return database.db
    .select({ id: runs.id, pipeline: runs.pipeline, state: runs.state, createdAt: runs.createdAt })
    .from(runs)
    .where(and(gte(runs.id, range.low), lte(runs.id, range.high)))
    .orderBy(desc(runs.createdAt))
    .limit(range.limit)
}
