import { readFile } from 'node:fs/promises'
import type { Database } from '@podline/runner'
import { sql } from 'drizzle-orm'

export type SchemaState = 'current' | 'missing' | 'outdated'

let lastMigrationAt: Promise<number> | undefined

/** When the newest checked-in migration was generated, from the runner's drizzle journal. */
function newestMigration(): Promise<number> {
  // The runner keeps migrations/ beside dist/ and src/, one level above index.{js,ts}.
  lastMigrationAt ??= readFile(
    new URL('../migrations/meta/_journal.json', import.meta.resolve('@podline/runner')),
    'utf8',
  ).then((text) =>
    Math.max(...(JSON.parse(text) as { entries: Array<{ when: number }> }).entries.map((e) => e.when)),
  )
  return lastMigrationAt
}

/**
 * Whether the store holds the schema this build expects, read the way drizzle's migrator decides
 * (the newest applied migration's timestamp), in two cheap queries: so a process can skip the
 * migrator, which reads and hashes every migration file, when nothing is pending.
 */
export async function schemaState(database: Database): Promise<SchemaState> {
  const [found] = await database.rows<{ tables: boolean; journal: boolean }>(sql`
    select to_regclass('podline.task_runs') is not null as tables,
           to_regclass('drizzle.__drizzle_migrations') is not null as journal`)
  if (!found?.tables) return 'missing'
  if (!found.journal) return 'outdated'
  const [row] = await database.rows<{ applied: string | null }>(
    sql`select max(created_at)::text as applied from drizzle.__drizzle_migrations`,
  )
  return Number(row?.applied ?? 0) >= (await newestMigration()) ? 'current' : 'outdated'
}
