import type { PipelinePlan } from '@podline/sdk'
import type { Database } from '../store/database.js'
import { pipelines } from '../store/schema.js'

/** Records each (name, version, plan) once, so `trigger` by name and `status` can read plans. */
export async function registerPlans(database: Database, plans: readonly PipelinePlan[]): Promise<void> {
  if (plans.length === 0) return
  await database.db
    .insert(pipelines)
    .values(plans.map((plan) => ({ name: plan.name, version: plan.version, plan })))
    .onConflictDoNothing()
}
