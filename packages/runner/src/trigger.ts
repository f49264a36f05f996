import type { AnyPipeline, JsonValue, PipelinePlan } from '@podline/sdk'
import { jsonSchemaIssues } from './engine/json-schema-check.js'
import { checkParams, InvalidParamsError } from './engine/run-params.js'
import { computeRunValues } from './engine/run-values.js'
import { createRun } from './queue/create-run.js'
import { registerPlans } from './queue/register-pipelines.js'
import type { Database } from './store/database.js'

/**
 * A pipeline `on` assets cannot be triggered by hand: its tasks read the events that made the run
 * (`ctx.assets`, typed as present), which such a run would not have.
 */
export class RunsFromAssetsError extends Error {
  override readonly name = 'RunsFromAssetsError'
}

function refuseAssetPipeline(plan: PipelinePlan): void {
  if (!plan.on) return
  const [first] = plan.on.assets
  throw new RunsFromAssetsError(
    `pipeline "${plan.name}" runs on asset events (${plan.on.mode === 'all' ? 'all of' : 'any of'} ${plan.on.assets.join(', ')}), and its tasks read them as ctx.assets: a run created by hand would have none. Record an event instead, e.g. podline assets emit ${first} --json '{…}', with a worker serving the pipeline; no run was created`,
  )
}

/** How a run is created, beside its params. */
export interface TriggerOptions {
  /** false: its tasks' caches are bypassed (no entry is read; a success still stores one). Default true. */
  cache?: boolean
}

/**
 * Validates params against the pipeline's schema and creates a run. Nothing is written when the
 * params are invalid. The params are stored as given; workers apply the schema again (it may transform).
 */
export async function triggerPipeline(
  database: Database,
  p: AnyPipeline,
  params: unknown,
  options: TriggerOptions = {},
): Promise<string> {
  const plan = p.plan()
  refuseAssetPipeline(plan)
  const stored = await checkParams(p, params)
  const values = await computeRunValues(p, stored).catch((error: Error) => {
    throw new InvalidParamsError(`${error.message}; no run was created`)
  })
  await registerPlans(database, [plan])
  return createRun(database, plan, stored, values, options)
}

/**
 * Creates a run from a stored plan (the CLI's `trigger`, which has no pipeline code loaded). Params
 * are checked against the plan's JSON Schema when it has one; nothing is written when they fail.
 * A concurrency key, a task's key or priority are code: a worker serving the version computes them
 * (queue/concurrency-keys.ts).
 */
export async function triggerPlan(
  database: Database,
  plan: PipelinePlan,
  params: JsonValue,
  options: TriggerOptions = {},
): Promise<string> {
  refuseAssetPipeline(plan)
  if (plan.paramsJsonSchema) {
    const issues = await jsonSchemaIssues(plan.paramsJsonSchema, params ?? {})
    if (issues.length > 0)
      throw new InvalidParamsError(
        `params of pipeline "${plan.name}" failed validation: ${issues.map((i) => `${i.path || 'params'}: ${i.message}`).join('; ')}; no run was created`,
        issues.map((i) => ({ param: i.param, message: i.message })),
      )
  }
  return createRun(database, plan, params, undefined, options)
}
