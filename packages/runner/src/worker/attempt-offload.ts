import type { AttemptRef } from '../queue/attempt-fence.js'
import type { AttemptOutcome } from '../queue/finish-attempt.js'
import { isReference } from '../store/xcom-row-value.js'
import { storeCall, type XComOffload } from '../xcom-store/xcom-offload.js'
import { objectKey, offload, resolveInputs } from '../xcom-store/xcom-reference.js'

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
