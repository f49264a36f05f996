import type { Database } from '@podline/runner'

export type SchemaState = Awaited<ReturnType<Database['schemaState']>>

/** Whether the store holds the schema this build expects (the runner's store decides). */
export function schemaState(database: Database): Promise<SchemaState> {
  return database.schemaState()
}
