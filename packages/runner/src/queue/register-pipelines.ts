import type { PipelinePlan } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { pipelines } from '../store/schema.js'
import { textArray } from '../store/sql-arrays.js'

/**
 * Two pipelines declare one asset with different schemas: a producer's events would not be what a
 * consumer reads. Names both pipelines and versions.
 */
export class AssetSchemaConflictError extends Error {
  override readonly name = 'AssetSchemaConflictError'
}

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
  await checkAssets(database, plans)
  const added = await database.db
    .insert(pipelines)
    .values(plans.map((plan) => ({ name: plan.name, version: plan.version, plan })))
    .onConflictDoNothing()
    .returning({ name: pipelines.name })
  // Only a new version can leave an asset: a version registered again (each trigger) changes nothing.
  const addedNames = new Set(added.map((a) => a.name))
  if (addedNames.size > 0)
    await dropLeftCursors(
      database,
      plans.filter((p) => addedNames.has(p.name)),
    )
}

/**
 * The asset cursors of a pipeline whose newest version no longer runs on the asset: nothing will
 * move them again, and retention keeps every event a cursor has not passed.
 */
async function dropLeftCursors(database: Database, plans: readonly PipelinePlan[]): Promise<void> {
  await database.rows(sql`
    delete from podline.asset_cursors c
    using (
      select p.name, p.plan from podline.pipelines p
      where p.name = any(${textArray(plans.map((plan) => plan.name))})
        and p.version = (select n.version from podline.pipelines n where n.name = p.name
                         order by n.created_at desc limit 1)
    ) newest
    where c.pipeline = newest.name
      and not coalesce(newest.plan -> 'on' -> 'assets' ? c.asset, false)`)
}

/**
 * Each asset the plans declare must have one schema: among the plans registered together, and
 * against the newest registered version of every other pipeline that declares it (a pipeline's own
 * older versions may differ: a schema changes with both sides deployed together).
 */
async function checkAssets(database: Database, plans: readonly PipelinePlan[]): Promise<void> {
  const declared = plans.flatMap((plan) =>
    Object.entries(plan.assets ?? {}).map(([asset, { schemaHash }]) => ({
      asset,
      schemaHash,
      pipeline: plan.name,
      version: plan.version,
    })),
  )
  if (declared.length === 0) return
  const names = [...new Set(declared.map((d) => d.asset))]
  const registering = new Set(plans.map((p) => p.name))
  const others = (
    await database.rows<{ asset: string; schemaHash: string; pipeline: string; version: string }>(sql`
      select a.asset, a.decl ->> 'schemaHash' as "schemaHash", p.name as pipeline, p.version
      from (select distinct on (name) name, version, plan from podline.pipelines
            order by name, created_at desc) p
      cross join lateral jsonb_each(coalesce(p.plan -> 'assets', '{}'::jsonb)) as a(asset, decl)
      where a.asset = any(${textArray(names)})`)
  ).filter((o) => !registering.has(o.pipeline))
  for (const d of declared) {
    const other = [...declared, ...others].find((o) => o.asset === d.asset && o.schemaHash !== d.schemaHash)
    if (!other) continue
    throw new AssetSchemaConflictError(
      `asset "${d.asset}" is declared with two different schemas: by pipeline "${d.pipeline}"@${d.version} (schema ${d.schemaHash}) and by pipeline "${other.pipeline}"@${other.version} (schema ${other.schemaHash}). ` +
        'Define the asset once, in a module that its producers and consumers import, and deploy them together; or give the new schema a new asset name',
    )
  }
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
