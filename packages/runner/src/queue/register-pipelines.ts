import type { PipelinePlan } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { pipelines } from '../store/schema.js'
import { textArray } from '../store/sql-arrays.js'

/** A pipeline names a pool that does not exist: registering it would queue work no claim may take. */
export class UnknownPoolError extends Error {
  override readonly name = 'UnknownPoolError'
}

/**
 * Records each (name, version, plan) once, so `trigger` by name and `status` can read plans. Refuses
 * (and records nothing) when a task takes slots of a pool that does not exist: a worker fails to
 * start, and runLocal to run, with the pool to create, instead of its task runs waiting for ever.
 */
export async function registerPlans(database: Database, plans: readonly PipelinePlan[]): Promise<void> {
  if (plans.length === 0) return
  await checkPools(database, plans)
  await database.db
    .insert(pipelines)
    .values(plans.map((plan) => ({ name: plan.name, version: plan.version, plan })))
    .onConflictDoNothing()
}

async function checkPools(database: Database, plans: readonly PipelinePlan[]): Promise<void> {
  const uses = plans.flatMap((plan) =>
    plan.tasks.flatMap((t) =>
      t.options.pool === undefined ? [] : [{ plan, task: t.name, pool: t.options.pool }],
    ),
  )
  if (uses.length === 0) return
  const named = [...new Set(uses.map((u) => u.pool))]
  const found = await database.rows<{ name: string }>(
    sql`select name from podline.pools where name = any(${textArray(named)})`,
  )
  const missing = uses.filter((u) => !found.some((f) => f.name === u.pool))
  if (missing.length === 0) return
  const lines = missing.map(
    (u) =>
      `task "${u.task}" of pipeline "${u.plan.name}" takes slots of pool "${u.pool}", which does not exist`,
  )
  const fixes = [...new Set(missing.map((u) => u.pool))].map((pool) => `podline pools set ${pool} --slots N`)
  throw new UnknownPoolError(
    `${lines.join('; ')}. Create ${fixes.length > 1 ? 'them' : 'it'} with ${fixes.join(' and ')} (N: how many of its task runs may run at once across all workers), or remove the pool from the task`,
  )
}
