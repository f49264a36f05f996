import { HandedOverError } from '../executors/handed-over.js'
import type { TaskRunId } from './claim-task-runs.js'

/*
 * An attempt as the worker that claimed it holds it, and the fence its writes pass: a write
 * (completion, an XCom, a mapped task's expansion) counts only while the task run's lease owner
 * and claim are still this attempt's.
 */

export class LeaseLostError extends HandedOverError {
  override readonly name: string = 'LeaseLostError'
}

export interface AttemptRef {
  id: TaskRunId
  runId: string
  task: string
  attempt: number
  /** The claim that began this execution (ClaimedTaskRun.claim): the fence. */
  claim: number
  workerId: string
  /** No task needs this one: completion then skips the downstream query. */
  isLeaf?: boolean
  /**
   * The run has no other task run (a one-task pipeline): no sibling can complete beside it, so its
   * ending ends the run in the completion's own statement, with no transaction around it.
   */
  soleTask?: boolean
  /** The item of a mapped task this attempt runs; undefined for a task's own row. */
  mapIndex?: number | null | undefined
}

/** Why an ending was not stored: this worker's claim is no longer the task run's. */
export function leaseLost(ref: AttemptRef): LeaseLostError {
  return new LeaseLostError(
    `task "${ref.task}" attempt ${ref.attempt} of run ${ref.runId}: this worker no longer holds its lease ` +
      '(it expired or the run was cancelled); the result was discarded and the current attempt stands',
  )
}
