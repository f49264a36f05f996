import { findNotJson, type JsonValue, type TaskDefinition } from '@podline/sdk'
import { TaskFailure } from '../executors/task-execution.js'
import { describeThrown } from './thrown-value.js'

/** What a mapped task's own attempt yields: the items `over` returned, each to become a task run. */
export class MapExpansion {
  constructor(readonly items: JsonValue[]) {}
}

/**
 * Evaluates `over` on the inputs. Its mistakes are the code's, not the data's moment: they fail the
 * mapped task without retries (a retry would evaluate the same function on the same inputs).
 */
export function expandOver(def: TaskDefinition, inputs: Record<string, unknown>): MapExpansion {
  if (!def.map) throw new Error(`task "${def.name}" is not mapped`)
  let items: unknown
  try {
    items = def.map.over(inputs)
  } catch (error) {
    throw new TaskFailure(`over of mapped task "${def.name}" threw: ${describeThrown(error)}`, 'fatal', {
      cause: error,
    })
  }
  if (!Array.isArray(items)) {
    throw new TaskFailure(
      `over of mapped task "${def.name}" returned ${describeValue(items)}, not an array: ` +
        'return the list of items, one task run each ([] for none)',
      'fatal',
    )
  }
  const notJson = findNotJson(items, 'items')
  if (notJson) {
    throw new TaskFailure(
      `over of mapped task "${def.name}" returned an item that is not JSON: ${notJson.found} at ${notJson.path}; ` +
        'each item is stored with its task run, so return plain objects, arrays, strings, numbers, booleans or null',
      'fatal',
    )
  }
  return new MapExpansion(items as JsonValue[])
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (value instanceof Promise) return 'a promise (over must be synchronous)'
  return typeof value === 'object'
    ? `an object (${Object.keys(value).slice(0, 3).join(', ') || 'no keys'})`
    : `a ${typeof value}`
}
