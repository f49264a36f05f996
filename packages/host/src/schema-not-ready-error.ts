/** The database has no Podline schema, or an older one: a configuration error with a one-command fix. */
export class SchemaNotReadyError extends Error {
  override readonly name = 'SchemaNotReadyError'
}
