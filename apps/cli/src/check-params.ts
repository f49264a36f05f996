import type { AnyPipeline, JsonValue } from '@podline/sdk'
import { UsageError } from './usage-error.js'

/** The runner's words end with what they mean for a trigger; a verb that creates no run drops them. */
const NO_RUN_CREATED = /; no run was created$/

/**
 * What the pipeline's params schema says of these params: undefined when they pass, else its
 * message. `createsRun: false` (plan) leaves out that no run was created: none ever would be.
 */
export async function paramsProblem(
  pipeline: AnyPipeline,
  params: JsonValue,
  options: { createsRun: boolean } = { createsRun: true },
): Promise<string | undefined> {
  const { checkParams, InvalidParamsError } = await import('@podline/runner')
  try {
    await checkParams(pipeline, params)
    return undefined
  } catch (error) {
    if (!(error instanceof InvalidParamsError)) throw error
    return options.createsRun ? error.message : error.message.replace(NO_RUN_CREATED, '')
  }
}

/** The pipeline's params schema applied to --params, before anything is opened or stored. */
export async function checkParamsOrExplain(
  pipeline: AnyPipeline,
  params: JsonValue,
  options: { createsRun: boolean } = { createsRun: true },
): Promise<void> {
  const problem = await paramsProblem(pipeline, params, options)
  if (problem === undefined) return
  throw new UsageError(
    `--params ${JSON.stringify(params)}: ${problem}. Fix --params to match the pipeline's params schema.`,
  )
}
