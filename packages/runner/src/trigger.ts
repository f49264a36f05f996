import type { AnyPipeline, JsonValue, PipelinePlan } from '@podline/sdk'
import { jsonSchemaIssues } from './engine/json-schema-check.js'
import { checkParams, InvalidParamsError } from './engine/run-params.js'
import { computeRunValues } from './engine/run-values.js'
import { createRun } from './queue/create-run.js'
import { registerPlans } from './queue/register-pipelines.js'
import type { Database } from './store/database.js'

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
