import type { AttemptRef } from '../queue/attempt-fence.js'
import type { ClaimedTaskRun } from '../queue/claim-task-runs.js'

/**
 * The reference a worker `workerId` that holds claim `c` ends the attempt with, as Worker builds
 * it; `extra` adds what a worker knows besides the claim (that no task needs it, that it is alone).
 */
export function attemptRef(
  c: ClaimedTaskRun,
  workerId: string,
  extra: Pick<AttemptRef, 'isLeaf' | 'soleTask'> = {},
): AttemptRef {
  return { id: c.id, runId: c.runId, task: c.task, attempt: c.attempt, claim: c.claim, workerId, ...extra }
}
