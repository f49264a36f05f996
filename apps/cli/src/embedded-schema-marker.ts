import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

/**
 * `podline run` on the embedded store skips drizzle's migrator (a few hundred ms: it loads, reads and
 * hashes every migration file) when a marker says this build's migrations were applied. The marker
 * lives inside pgdata/, so deleting the store deletes it too, and it holds the build's migration
 * journal, so a newer build with new migrations runs the migrator again.
 */
function markerFile(dataDir: string | undefined): string {
  return resolve(dataDir ?? '.podline', 'pgdata', 'podline-schema.json')
}

function journal(): string | undefined {
  try {
    return readFileSync(
      new URL('../migrations/meta/_journal.json', import.meta.resolve('@podline/runner')),
      'utf8',
    )
  } catch {
    return undefined
  }
}

export function embeddedSchemaIsCurrent(dataDir: string | undefined): boolean {
  const file = markerFile(dataDir)
  if (!existsSync(file)) return false
  const expected = journal()
  return expected !== undefined && readFileSync(file, 'utf8') === expected
}

/** Called once the embedded store was opened with migrations applied. */
export function rememberEmbeddedSchema(dataDir: string | undefined): void {
  const expected = journal()
  if (expected === undefined) return
  try {
    writeFileSync(markerFile(dataDir), expected)
  } catch {
    // Only an optimisation: without the marker the next run migrates (a no-op) again.
  }
}
