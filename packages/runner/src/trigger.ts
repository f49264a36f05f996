import {
  type AnyPipeline,
  findNotJson,
  type JsonValue,
  type PipelinePlan,
  SchemaValidationError,
  validateWith,
} from '@podline/sdk'
import { createRun } from './queue/create-run.js'
import { registerPlans } from './queue/register-pipelines.js'
import type { Database } from './store/database.js'

/** One problem of the params: the top-level param it concerns ('' for the whole), and what is wrong. */
export interface ParamsIssue {
  readonly param: string
  readonly message: string
}

export class InvalidParamsError extends Error {
  override readonly name = 'InvalidParamsError'
  constructor(
    message: string,
    /** Each problem by param, where the schema says which (a form marks those fields). */
    readonly issues: readonly ParamsIssue[] = [],
  ) {
    super(message)
  }
}

/**
 * Validates params against the pipeline's schema and creates a run. Nothing is written when the
 * params are invalid. The params are stored as given; workers apply the schema again (it may transform).
 */
export async function triggerPipeline(database: Database, p: AnyPipeline, params: unknown): Promise<string> {
  const plan = p.plan()
  const stored = await checkParams(p, params)
  await registerPlans(database, [plan])
  return createRun(database, plan, stored)
}

export async function checkParams(p: AnyPipeline, params: unknown): Promise<JsonValue> {
  const given = params ?? {}
  if (p.paramsSchema) {
    try {
      await validateWith(p.paramsSchema, given, `params of pipeline "${p.name}"`)
    } catch (error) {
      if (error instanceof SchemaValidationError)
        throw new InvalidParamsError(`${error.message}; no run was created`)
      throw error
    }
  }
  const issue = findNotJson(given, 'params')
  if (issue)
    throw new InvalidParamsError(`${issue.path} is ${issue.found}: params must be JSON; no run was created`)
  return given as JsonValue
}

/**
 * Creates a run from a stored plan (the CLI's `trigger`, which has no pipeline code loaded). Params
 * are checked against the plan's JSON Schema when it has one; nothing is written when they fail.
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
