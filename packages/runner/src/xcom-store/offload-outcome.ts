import { TaskFailure } from '../engine/task-failure.js'
import type { AttemptRef } from '../queue/attempt-fence.js'
import type { AttemptOutcome } from '../queue/finish-attempt.js'
import { isReference } from '../store/xcom-row-value.js'
import { objectKey, offload, resolveInputs } from './xcom-reference.js'
import { type XComStore, XComStoreError } from './xcom-store.js'

/** What the worker knows of the store: none, or one and the size above which values go there. */
export interface XComOffload {
  readonly store: XComStore
  readonly offloadBytes: number
  /** This database's folder in the store (`storePrefix`): every key it writes, collects or prunes is under it. */
  readonly prefix: string
}

/**
 * A successful outcome whose value is larger than the threshold, with the value written to the store
 * and the reference in its place. Written before the fenced completion that records the reference:
 * an attempt that then loses its lease leaves an orphan object, never a reference to nothing.
 */
export async function offloadOutcome(
  offloading: XComOffload | undefined,
  ref: AttemptRef,
  outcome: AttemptOutcome,
): Promise<AttemptOutcome> {
  if (!offloading || outcome.state !== 'success' || outcome.output === undefined) return outcome
  // A reference here is a pod's result that the pod wrote to the store and the worker checked.
  if (outcome.size <= offloading.offloadBytes || isReference(outcome.output)) return outcome
  const reference = await storeCall(() =>
    offload(
      offloading.store,
      objectKey(offloading.prefix, ref, 'return_value'),
      outcome.json ?? JSON.stringify(outcome.output),
    ),
  )
  return { state: 'success', output: reference, size: outcome.size }
}

/** The task's inputs with every offloaded upstream value read back from the store. */
export function resolveTaskInputs(
  offloading: XComOffload | undefined,
  inputs: Record<string, unknown>,
  mapped: ReadonlySet<string>,
): Promise<Record<string, unknown>> {
  return storeCall(() => resolveInputs(offloading?.store, inputs, mapped))
}

/** A store that fails is the infrastructure's failure: the attempt is retried while retries remain. */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof XComStoreError) throw new TaskFailure(error.message, 'infra', { cause: error })
    throw error
  }
}
