/**
 * Errors that mean "the command could not start as asked" (exit 2) rather than "the work failed"
 * (exit 1). Matched by name so this module does not load the runner just to print an error.
 */
const USAGE_ERRORS = new Set([
  'UsageError',
  'PipelineFileError',
  'InvalidParamsError',
  'DatabaseUnreachableError',
  'SchemaNotReadyError',
  'RetryError',
  'PipelineDefinitionError',
  'EmbeddedStoreBusyError',
  'ConfigError',
  'UnknownPoolError',
  'InvalidPoolError',
  'AssetDefinitionError',
  'AssetSchemaConflictError',
  'RunsFromAssetsError',
])

/** Prints an error the way every verb does and returns the exit code it stands for. */
export function reportError(error: unknown): number {
  if (error instanceof Error && USAGE_ERRORS.has(error.name)) {
    process.stderr.write(`podline: ${error.message}\n`)
    return 2
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
  process.stderr.write(`podline: ${text}\n`)
  return 1
}

/** A warning that does not stop the verb (spans that could not be exported). */
export function warnOnStderr(message: string): void {
  process.stderr.write(`podline: ${message}\n`)
}
