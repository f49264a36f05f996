import type { Database } from '../store/database.js'
import { type ListRunsOptions, listRuns } from './runs-listing.js'

export interface RunsPageOptions extends ListRunsOptions {
  /** Default 50, at most MAX_RUNS_PAGE. */
  limit?: number
}

export const MAX_RUNS_PAGE = 500

/**
 * One page of runs, newest first, through the keyset listing `podline runs --after` uses; `next` is
 * the run to page after (the last one shown) when there are more.
 */
export async function runsPage(database: Database, options: RunsPageOptions = {}) {
  const limit = Math.min(options.limit ?? 50, MAX_RUNS_PAGE)
  // One row more than shown says whether there is a next page.
  const rows = await listRuns(database, { ...options, limit: limit + 1 })
  const page = rows.slice(0, limit)
  return { runs: page, next: rows.length > limit ? (page.at(-1)?.id ?? null) : null }
}
export type RunsPage = Awaited<ReturnType<typeof runsPage>>
