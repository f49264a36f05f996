import type { Database } from '@podline/runner'
import { UsageError } from './usage-error.js'

/** `--item <index>`: an item of a mapped task, counted from 0 as `ctx.mapIndex` is. */
export const ITEM_OPTION = ['--item <index>', 'an item of a mapped task (its index, from 0)'] as const

/** Parses `--item`: commander's argParser, so a bad value is refused before the store is opened. */
export function parseItem(value: string): number {
  if (!/^\d+$/.test(value))
    throw new UsageError(`--item takes an item's index (0, 1, …), got ${JSON.stringify(value)}`)
  return Number(value)
}

/** Refuses an item the task does not have, saying how many it has. */
export async function checkItem(
  database: Database,
  runId: string,
  task: string,
  item: number,
): Promise<void> {
  const { hasItem, mappedItems } = await import('@podline/runner')
  if (await hasItem(database, runId, task, item)) return
  const total = (await mappedItems(database, runId))[task]?.total ?? 0
  throw new UsageError(
    total === 0
      ? `task ${task} of run ${runId} has no items (it is not mapped, or over has not run yet); leave out --item`
      : `task ${task} of run ${runId} has no item ${item}; its items are 0 to ${total - 1}`,
  )
}
