import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type SQL, sql } from 'drizzle-orm'
import { MIGRATIONS_FOLDER } from './migrations-folder.js'

export type SchemaState = 'current' | 'missing' | 'outdated'

let newest: number | undefined

/** When the newest checked-in migration was generated, from drizzle's journal. */
function newestMigration(): number {
  newest ??= Math.max(
    ...(
      JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
        entries: Array<{ when: number }>
      }
    ).entries.map((e) => e.when),
  )
  return newest
}

/** The raw SQL the schema state is read through: `Database.rows`, before database.ts has made a Database. */
export interface SqlRows {
  rows<T>(query: SQL): Promise<T[]>
}

/**
 * Whether the store holds the schema this build expects, decided the way drizzle's migrator decides
 * (the newest applied migration's timestamp) in two cheap queries, so that opening a current store
 * skips the migrator, which reads and hashes every migration file.
 */
export async function readSchemaState(database: SqlRows): Promise<SchemaState> {
  // Two queries: the second names a table that must exist before a statement may mention it.
  const [found] = await database.rows<{ tables: boolean; journal: boolean }>(sql`
    select to_regclass('podline.task_runs') is not null as tables,
           to_regclass('drizzle.__drizzle_migrations') is not null as journal`)
  if (!found?.tables) return 'missing'
  if (!found.journal) return 'outdated'
  const [row] = await database.rows<{ applied: string | null }>(
    sql`select max(created_at)::text as applied from drizzle.__drizzle_migrations`,
  )
  return Number(row?.applied ?? 0) >= newestMigration() ? 'current' : 'outdated'
}
