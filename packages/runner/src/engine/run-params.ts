import {
  type AnyPipeline,
  findNotJson,
  type JsonValue,
  SchemaValidationError,
  validateWith,
} from '@podline/sdk'

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
 * The params a run is created with, checked against the pipeline's schema and for JSON: what
 * triggerPipeline and the scheduler store. Throws InvalidParamsError, which says no run was created.
 */
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
