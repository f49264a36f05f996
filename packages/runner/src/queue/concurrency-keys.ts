import type { AnyPipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { runConcurrencyKey } from '../engine/concurrency-key.js'
import type { Database } from '../store/database.js'
import { textArray } from '../store/sql-arrays.js'
import { failRunOnParams } from './fail-run-params.js'
import { state } from './sql-values.js'

/** Runs keyed per pass at most: a burst of triggers is keyed over a few passes, each one short. */
const KEY_BATCH = 500

/**
 * Computes the concurrency key of the queued runs of this version that were created without one:
 * `podline trigger` and the UI's API create runs from the stored plan, with no code to run the key
 * function, so a worker serving the version does it before admission. A run whose key cannot be
 * computed (params the schema refuses, a key function that throws) fails with the reason, as a run
 * with bad params does. Any number of workers may run this at once: the first update of a run wins.
 */
export async function assignConcurrencyKeys(
  database: Database,
  pipeline: AnyPipeline,
  version: string,
  workerId: string,
): Promise<void> {
  if (!pipeline.concurrency) return
  const unkeyed = await database.rows<{ id: string; params: unknown }>(sql`
    select id, params from podline.runs
    where pipeline = ${pipeline.name} and version = ${version} and state = ${state('queued')}
      and concurrency_limit is not null and concurrency_key is null
    order by created_at, id
    limit ${KEY_BATCH}`)
  if (unkeyed.length === 0) return
  const ids: string[] = []
  const keys: string[] = []
  for (const run of unkeyed) {
    try {
      keys.push((await runConcurrencyKey(pipeline, run.params)) as string)
      ids.push(run.id)
    } catch (error) {
      await failRunOnParams(
        database,
        run.id,
        `${error instanceof Error ? error.message : String(error)}; the run cannot start`,
        workerId,
      )
    }
  }
  if (ids.length === 0) return
  await database.rows(sql`
    update podline.runs r set concurrency_key = v.key
    from unnest(${textArray(ids)}::uuid[], ${textArray(keys)}) as v(id, key)
    where r.id = v.id and r.concurrency_key is null`)
}
