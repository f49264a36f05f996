import type { AnyPipeline, JsonValue } from '@podline/sdk'
import { UsageError } from './usage-error.js'

/** The pipeline's params schema applied to --params, before anything is opened or stored. */
export async function checkParamsOrExplain(pipeline: AnyPipeline, params: JsonValue): Promise<void> {
  const { checkParams, InvalidParamsError } = await import('@podline/runner')
  try {
    await checkParams(pipeline, params)
  } catch (error) {
    if (!(error instanceof InvalidParamsError)) throw error
    throw new UsageError(
      `--params ${JSON.stringify(params)}: ${error.message}. Fix --params to match the pipeline's params schema.`,
    )
  }
}
