import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { failAbandonedRun } from './queue/fail-abandoned-run.js'
import type { Database } from './store/database.js'

/**
 * `podline run` (runLocal) on the embedded store is the only worker its run will ever have. If that
 * process is killed (kill -9, a crash, a closed laptop), nothing else would end the run: it would
 * stay `running` forever. A marker file in the store's folder names the run while it lasts; the
 * next process to open the store (it holds the store's lock, so the marker's writer is gone) fails
 * that run with a message saying so.
 */
interface Marker {
  runId: string
  pid: number
}

const markerPath = (dataDir: string) => join(dataDir, 'podline-run.json')

/** Names the run this process is running locally; the returned function removes the marker. */
export function markLocalRun(database: Database, runId: string): () => void {
  if (database.driver !== 'pglite') return () => {}
  const path = markerPath(database.location)
  writeFileSync(path, JSON.stringify({ runId, pid: process.pid } satisfies Marker))
  return () => rmSync(path, { force: true })
}

/** Fails the run of a `podline run` that was killed before it ended. Returns its id, if it failed one. */
export async function failKilledLocalRun(database: Database): Promise<string | undefined> {
  if (database.driver !== 'pglite') return undefined
  const path = markerPath(database.location)
  let marker: Marker
  try {
    marker = JSON.parse(readFileSync(path, 'utf8')) as Marker
  } catch {
    return undefined
  }
  const message = `the previous podline run (pid ${marker.pid}) was killed before this run ended; run its tasks again with podline retry ${marker.runId}`
  const failed = await failAbandonedRun(database, marker.runId, message)
  rmSync(path, { force: true })
  // Killed after its run had ended (or the run is gone): nothing was left running.
  return failed ? marker.runId : undefined
}
