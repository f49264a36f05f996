import type { AnyPipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { computeRunValues, needsRunValues, type RunValues } from '../engine/run-values.js'
import type { Database } from '../store/database.js'
import { KEY_FROM_INPUTS } from './admit-tasks.js'
import { failRunOnParams } from './fail-run-params.js'
import { state } from './sql-values.js'

/** Runs computed per pass at most: a burst of triggers is computed over a few passes, each one short. */
const VALUES_BATCH = 500

/**
 * Computes what the queued runs of this version that were created without the code still lack: the
 * pipeline's concurrency key, its tasks' keys and computed priorities (engine/run-values.ts).
 * `podline trigger` and the UI's API create runs from the stored plan, with no code to run those
 * functions, so a worker serving the version does it before admission (admit-runs.ts starts such a
 * run once they are stored). A run whose values cannot be computed (params the schema refuses, a
 * function that throws) fails with the reason, as a run with bad params does. Any number of workers
 * may run this at once: the first update of a run wins.
 */
export async function assignRunValues(
  database: Database,
  pipeline: AnyPipeline,
  version: string,
  workerId: string,
): Promise<void> {
  if (!needsRunValues(pipeline)) return
  const pending = await database.rows<{ id: string; params: unknown }>(sql`
    select id, params from podline.runs
    where pipeline = ${pipeline.name} and version = ${version} and state = ${state('queued')}
      and ((concurrency_limit is not null and concurrency_key is null) or task_values_pending)
    order by created_at, id
    limit ${VALUES_BATCH}`)
  if (pending.length === 0) return
  const computed: Array<{ id: string } & RunValues> = []
  for (const run of pending) {
    try {
      computed.push({ id: run.id, ...(await computeRunValues(pipeline, run.params)) })
    } catch (error) {
      await failRunOnParams(
        database,
        run.id,
        `${error instanceof Error ? error.message : String(error)}; the run cannot start`,
        workerId,
      )
    }
  }
  if (computed.length === 0) return
  const tasks = computed.flatMap((r) =>
    (r.taskValues ?? []).map((t) => ({
      run_id: r.id,
      task: t.task,
      key: t.fromInputs ? KEY_FROM_INPUTS : (t.concurrencyKey ?? null),
      priority: t.priority ?? null,
    })),
  )
  await database.db.transaction(async (tx) => {
    // Only runs still lacking them: another worker may have stored the same values first.
    const updated = await database.rows<{ id: string }>(
      sql`
      update podline.runs r
      set concurrency_key = coalesce(r.concurrency_key, v.key),
          task_values_pending = case when r.task_values_pending then false else r.task_values_pending end
      from jsonb_to_recordset(${JSON.stringify(computed.map((r) => ({ id: r.id, key: r.concurrencyKey ?? null })))}::jsonb)
        as v(id uuid, key text)
      where r.id = v.id and r.state = ${state('queued')}
        and ((r.concurrency_limit is not null and r.concurrency_key is null) or r.task_values_pending)
      returning r.id::text as id`,
      tx,
    )
    if (tasks.length === 0 || updated.length === 0) return
    await database.rows(
      sql`
      update podline.task_runs t
      set concurrency_key = coalesce(v.key, t.concurrency_key), priority = coalesce(v.priority, t.priority)
      from jsonb_to_recordset(${JSON.stringify(tasks)}::jsonb) as v(run_id uuid, task text, key text, priority int)
      where t.run_id = v.run_id and t.task = v.task
        and t.run_id = any(${`{${updated.map((u) => u.id).join(',')}}`}::uuid[])`,
      tx,
    )
  })
}
