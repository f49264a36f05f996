import type { Database } from '@podline/runner'
import { UsageError } from './usage-error.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const LOWEST = '00000000-0000-0000-0000-000000000000'
const HIGHEST = 'ffffffff-ffff-ffff-ffff-ffffffffffff'
/** Matches listed when a prefix is ambiguous. */
const SHOWN = 10

/**
 * A run id as typed: the whole UUID or a prefix of it (`3f2a`, `3f2a9c1e-77`). A prefix is the
 * range of ids that start with it, so the lookup uses the primary key rather than scanning runs.
 */
export async function resolveRunId(database: Database, typed: string): Promise<string> {
  const text = typed.trim().toLowerCase()
  const low = text + LOWEST.slice(text.length)
  const high = text + HIGHEST.slice(text.length)
  if (text === '' || !UUID.test(low) || !UUID.test(high)) throw unknownRun(typed)
  if (low === high) return text
  const { runsInIdRange } = await import('@podline/runner')
  const matches = await runsInIdRange(database, { low, high, limit: SHOWN + 1 })
  const [only] = matches
  if (!only) throw unknownRun(typed)
  if (matches.length === 1) return only.id
  const listed = matches
    .slice(0, SHOWN)
    .map((r) => `  ${r.id}  ${r.pipeline}  ${r.state}  ${new Date(r.createdAt).toISOString()}`)
  if (matches.length > SHOWN) listed.push('  … and more')
  throw new UsageError(
    `the run id prefix ${typed} matches more than one run; type more of the id:\n${listed.join('\n')}`,
  )
}

export function unknownRun(runId: string): UsageError {
  return new UsageError(
    `there is no run ${runId} in this store. List the runs with \`podline runs\` (same DATABASE_URL or PODLINE_DATA_DIR).`,
  )
}
