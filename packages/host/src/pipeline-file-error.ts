/** A pipeline file that is missing, fails to load, or exports no pipeline: a usage error (exit 2). */
export class PipelineFileError extends Error {
  override readonly name = 'PipelineFileError'
}
