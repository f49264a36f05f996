import {
  type AnyPipeline,
  type AssetEvent,
  assetsOf,
  type RunAssets,
  SchemaValidationError,
  type TaskDefinition,
  validateWith,
} from '@podline/sdk'
import { TaskFailure } from '../engine/task-failure.js'
import type { StoredAssetEvent } from '../queue/create-run.js'
import { isReference } from '../store/xcom-row-value.js'
import type { XComOffload } from '../xcom-store/xcom-offload.js'
import { resolveTaskInputs } from './attempt-offload.js'

/**
 * `ctx.assets` of a run created by asset events: each event with its value read back (an offloaded
 * one from the XCom store) and through its asset's schema, so the tasks get what the schema outputs.
 * An event its asset's schema now refuses (the schema changed since) fails the task, without retries.
 */
export async function runAssets(
  pipeline: AnyPipeline,
  runId: string,
  stored: Readonly<Record<string, StoredAssetEvent>> | null,
  xcoms: XComOffload | undefined,
): Promise<RunAssets> {
  if (!stored) return {}
  const declared = pipeline.on ? assetsOf(pipeline.on) : []
  const values = await resolveTaskInputs(
    xcoms,
    Object.fromEntries(Object.entries(stored).map(([name, e]) => [name, e.value])),
    new Set(),
  )
  const events: Record<string, AssetEvent<unknown>> = {}
  for (const [name, e] of Object.entries(stored)) {
    const asset = declared.find((a) => a.name === name)
    let value: unknown = values[name]
    if (asset) {
      try {
        value = await validateWith(asset.schema, value, `asset "${name}" event ${e.id} of run ${runId}`)
      } catch (error) {
        if (!(error instanceof SchemaValidationError)) throw error
        throw new TaskFailure(
          `${error.message}; the asset's schema has changed since the event was recorded`,
          'fatal',
        )
      }
    }
    events[name] = Object.freeze({
      id: e.id,
      value,
      createdAt: new Date(e.createdAt),
      producer: e.producer && Object.freeze({ ...e.producer }),
    })
  }
  return Object.freeze(events)
}

/**
 * A producing task's output, checked against each asset it produces before its success is stored
 * (which records the events): the types check it at compile time, this catches what they cannot
 * see (plain JavaScript, a cast, a pod's output without a schema). A value offloaded by a pod is
 * checked by its `output` schema only. Fails the attempt without retries: it would produce the
 * same value again.
 */
export async function checkProduced(def: TaskDefinition, value: unknown): Promise<void> {
  if (!def.produces || isReference(value)) return
  for (const asset of def.produces) {
    try {
      await validateWith(asset.schema, value, `the output of task "${def.name}"`)
    } catch (error) {
      if (!(error instanceof SchemaValidationError)) throw error
      throw new TaskFailure(
        `${error.message}; task "${def.name}" produces asset "${asset.name}", whose schema it must match: no event was recorded`,
        'fatal',
      )
    }
  }
}
