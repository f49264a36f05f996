import { UsageError } from './usage-error.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Run ids are UUIDs; anything else is reported as an unknown run before it reaches a uuid-typed query. */
export function checkRunId(runId: string): string {
  if (!UUID.test(runId)) throw unknownRun(runId)
  return runId.toLowerCase()
}

export function unknownRun(runId: string): UsageError {
  return new UsageError(
    `there is no run ${runId} in this store. List the runs with \`podline runs\` (same DATABASE_URL or PODLINE_DATA_DIR).`,
  )
}
