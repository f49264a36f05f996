import { findNotJson, type JsonValue, type TaskDefinition } from '@podline/sdk'
import { TaskFailure } from '../engine/task-failure.js'
import { formatBytes } from '../format/format-bytes.js'
import { xcomTooLargeMessage } from '../xcom-store/xcom-limit.js'
import { assertStorable, UnstorableTextError } from './storable-text.js'
import { describeThrown } from './thrown-value.js'

/**
 * The most the items of one expansion may weigh together: they reach PostgreSQL as one jsonb
 * parameter, and a jsonb value holds at most 256 MB.
 */
export const MAX_ITEMS_BYTES = 256 * 1024 * 1024 - 1

/** What a mapped task's own attempt yields: the items `over` returned, each to become a task run. */
export class MapExpansion {
  constructor(readonly items: JsonValue[]) {}
}

/**
 * Evaluates `over` on the inputs. Its mistakes are the code's, not the data's moment: they fail the
 * mapped task without retries (a retry would evaluate the same function on the same inputs). Each
 * item is stored with its task run, so it obeys what a task's output obeys: JSON, text PostgreSQL
 * can store, and the XCom size limit.
 */
export function expandOver(
  def: TaskDefinition,
  inputs: Record<string, unknown>,
  limitBytes: number,
  store?: string,
): MapExpansion {
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
  const what = `over of mapped task "${def.name}"`
  try {
    assertStorable(`the items ${what} returned`, items)
  } catch (error) {
    if (!(error instanceof UnstorableTextError)) throw error
    throw new TaskFailure(error.message, 'fatal', { cause: error })
  }
  let total = 0
  for (const [i, item] of items.entries()) {
    const size = Buffer.byteLength(JSON.stringify(item))
    if (size > limitBytes)
      throw new TaskFailure(xcomTooLargeMessage(`item ${i} of ${what}`, size, limitBytes, store), 'fatal')
    total += size + 1
  }
  if (total > MAX_ITEMS_BYTES) {
    throw new TaskFailure(
      `the items of ${what} weigh ${formatBytes(total)} together, over the ${formatBytes(MAX_ITEMS_BYTES)} ` +
        'PostgreSQL stores in one value; return smaller items (names or keys of the data, not the data itself)',
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
