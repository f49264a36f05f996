import type { AnyPipeline, JsonValue, PipelinePlan } from '@podline/sdk'
import { runConcurrencyKey } from './engine/concurrency-key.js'
import { checkParams, InvalidParamsError } from './engine/run-params.js'
import { createRun } from './queue/create-run.js'
import { registerPlans } from './queue/register-pipelines.js'
import type { Database } from './store/database.js'

/**
 * Validates params against the pipeline's schema and creates a run. Nothing is written when the
 * params are invalid. The params are stored as given; workers apply the schema again (it may transform).
 */
export async function triggerPipeline(database: Database, p: AnyPipeline, params: unknown): Promise<string> {
  const plan = p.plan()
  const stored = await checkParams(p, params)
  const key = await runConcurrencyKey(p, stored).catch((error: Error) => {
    throw new InvalidParamsError(`${error.message}; no run was created`)
  })
  await registerPlans(database, [plan])
  return createRun(database, plan, stored, key)
}

/**
 * Creates a run from a stored plan (the CLI's `trigger`, which has no pipeline code loaded). Params
 * are checked against the plan's JSON Schema when it has one; nothing is written when they fail.
 * A concurrency key is code: a worker serving the version computes it (queue/concurrency-keys.ts).
 */
export async function triggerPlan(
  database: Database,
  plan: PipelinePlan,
  params: JsonValue,
): Promise<string> {
  if (plan.paramsJsonSchema) {
    const { Ajv2020 } = await import('ajv/dist/2020.js')
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(plan.paramsJsonSchema)
    if (!validate(params ?? {})) {
      const errors = validate.errors ?? []
      const issues = errors.map(
        (e) => `${e.instancePath.slice(1).replaceAll('/', '.') || 'params'}: ${e.message}`,
      )
      throw new InvalidParamsError(
        `params of pipeline "${plan.name}" failed validation: ${issues.join('; ')}; no run was created`,
        errors.map((e) => ({
          // A missing required param is reported on the object, naming the property.
          param:
            e.instancePath.split('/')[1] ??
            (typeof e.params.missingProperty === 'string' ? e.params.missingProperty : ''),
          message: e.message ?? 'is not valid',
        })),
      )
    }
  }
  return createRun(database, plan, params)
}
