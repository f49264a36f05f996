import type { PipelinePlan } from '@podline/sdk'
import { desc, eq } from 'drizzle-orm'
import { servedVersions } from '../queue/workers.js'
import type { Database } from '../store/database.js'
import { pipelines } from '../store/schema.js'

// The pipelines registered in the store: their names, and the plan a trigger queues a run of.

export async function latestPlan(database: Database, name: string): Promise<PipelinePlan | undefined> {
  const [row] = await database.db
    .select({ plan: pipelines.plan })
    .from(pipelines)
    .where(eq(pipelines.name, name))
    .orderBy(desc(pipelines.createdAt))
    .limit(1)
  return row?.plan as PipelinePlan | undefined
}

export type PlanToTrigger =
  | { plan: PipelinePlan }
  | {
      /** No such pipeline; no live worker serves any of its versions; or the forced version is unknown. */
      problem: 'unknown-pipeline' | 'no-live-worker' | 'unknown-version'
      /** Its registered versions, newest first. */
      registered: string[]
    }

/**
 * The plan `trigger` queues a run of: the newest version that a live worker serves (so after a
 * rollback runs go to the version still served, not the one registered last), or `version` when
 * the caller forces one.
 */
export async function planToTrigger(
  database: Database,
  name: string,
  version?: string,
): Promise<PlanToTrigger> {
  const rows = await database.db
    .select({ version: pipelines.version, plan: pipelines.plan })
    .from(pipelines)
    .where(eq(pipelines.name, name))
    .orderBy(desc(pipelines.createdAt))
  const registered = rows.map((r) => r.version)
  if (rows.length === 0) return { problem: 'unknown-pipeline', registered }
  const wanted = version ?? (await servedVersions(database, name))[0]
  const row = rows.find((r) => r.version === wanted)
  if (row) return { plan: row.plan as PipelinePlan }
  return { problem: version === undefined ? 'no-live-worker' : 'unknown-version', registered }
}

export async function pipelineNames(database: Database): Promise<string[]> {
  const rows = await database.db
    .selectDistinct({ name: pipelines.name })
    .from(pipelines)
    .orderBy(pipelines.name)
  return rows.map((r) => r.name)
}
