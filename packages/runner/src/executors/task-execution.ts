import type { JsonValue, RunAssets, TaskContext } from '@podline/sdk'
import type { PodXComTransfers } from '../xcom-store/pod-transfers.js'

/**
 * One attempt of one task, as the worker hands it to an executor. The worker owns the lease and
 * heartbeats it; the executor only runs the work and returns the output (or throws a TaskFailure).
 */
export interface TaskExecution {
  /** The id of the store the run belongs to (`database.storeId()`): pods are labelled with it. */
  readonly storeId: string
  readonly pipeline: string
  readonly pipelineVersion: string
  readonly runId: string
  readonly taskRunId: string
  readonly task: string
  readonly attempt: number
  /** The item of a mapped task this attempt runs (its pod is named with it); undefined otherwise. */
  readonly mapIndex?: number
  /** That item's element of the list `over` returned: the pod spec function's first parameter. */
  readonly item?: unknown
  /**
   * True when this attempt was taken over from a worker that stopped (its lease expired or it was
   * released): its pod may already exist, so the launcher looks for it before creating one.
   */
  readonly resumed?: boolean
  /** Outputs of the tasks in `needs`, keyed by task name (already guarded by the SDK). */
  readonly inputs: Record<string, unknown>
  readonly ctx: TaskContext<unknown, RunAssets>
  /**
   * The worker's XCom store as this attempt may use it, when one is configured: a pod writes a
   * result too large for its log there, and its spec may hand it URLs of stored upstream values.
   */
  readonly xcoms?: PodXComTransfers
  /** The upstream values as their rows hold them: references where a value is in the XCom store. */
  readonly storedInputs?: Record<string, unknown>
  /**
   * Stores an XCom for this attempt right away (fenced: refused once the lease is lost).
   * Pod tasks use it for `pod_name` and `pod_namespace` as soon as the pod exists.
   */
  putXcom(key: string, value: JsonValue): Promise<void>
  /**
   * Registers work to run once the attempt's outcome is stored, never before; skipped when the
   * attempt is lost to another worker. A pod task deletes its pod here: deleted first, a worker
   * killed before storing the result would leave its takeover no pod to read, and the pod would run
   * a second time.
   */
  afterRecorded(cleanup: () => Promise<void>): void
}
