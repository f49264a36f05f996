import { asc, eq } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { events } from '../store/schema.js'

export function runEvents(database: Database, runId: string) {
  return database.db.select().from(events).where(eq(events.runId, runId)).orderBy(asc(events.id))
}
