import type { Command } from 'commander'
import { printJson } from '../format.js'
import { checkItem, ITEM_OPTION, parseItem } from '../item-option.js'
import { withOperatorStore } from '../open-store.js'
import { resolveRunId, unknownRun } from '../run-id.js'
import { storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

export function registerXcom(program: Command): void {
  program
    .command('xcom')
    .description('print an XCom of a task as JSON (default: its return_value, the task output)')
    .argument('<runId>', 'the run id, or a unique prefix of it')
    .argument('<task>')
    .option('--key <key>', 'which XCom', 'return_value')
    .option(...ITEM_OPTION, parseItem)
    .addHelpText(
      'after',
      "\nA mapped task's return_value is the array of its items' outputs; --item <index> reads one item's XComs.",
    )
    .action(async (runId: string, task: string, flags: { key: string; item?: number }) => {
      const settings = await storeSettings()
      await withOperatorStore(settings, async ({ database }) => {
        const id = await resolveRunId(database, runId)
        const { isTerminal, runStatus, taskXcoms } = await import('@podline/runner')
        const status = await runStatus(database, id)
        if (!status) throw unknownRun(runId)
        const run = status.tasks.find((t) => t.task === task)
        if (!run) {
          throw new UsageError(
            `run ${id} has no task "${task}"; its tasks are ${status.tasks.map((t) => t.task).join(', ')}.`,
          )
        }
        if (flags.item !== undefined) await checkItem(database, id, task, flags.item)
        const rows = await taskXcoms(database, id, task, flags.item)
        const row = rows.find((r) => r.key === flags.key)
        if (!row) {
          const keys = rows.map((r) => r.key)
          // "yet" only while the task can still push one: a task that ended without pushing never will.
          const none = isTerminal(run.state)
            ? `it ended ${run.state.replace('_', ' ')} without pushing any${run.state === 'failed' ? `; see why with \`podline logs ${id} ${task}\`` : ''}.`
            : `it has none yet (it is ${run.state.replace('_', ' ')}).`
          throw new UsageError(
            `task ${task} of run ${id} (${run.state}) has no XCom "${flags.key}"; ${
              keys.length ? `it has: ${keys.join(', ')}. Choose one with --key.` : none
            }`,
          )
        }
        const { isReference, openXComStorage, pipeValue, resolveItems, resolveValue } = await import(
          '@podline/runner'
        )
        const what = `the XCom ${flags.key} of task "${task}"`
        // A mapped task's output is its items' values, any of them kept in the store.
        const items = flags.item === undefined && status.items[task] !== undefined && Array.isArray(row.value)
        if (items && (row.value as unknown[]).some(isReference)) {
          const xcoms = await openXComStorage(settings.xcoms ?? {}, database)
          try {
            return printJson(await resolveItems(xcoms?.store, row.value, what))
          } finally {
            await xcoms?.store.close()
          }
        }
        if (!isReference(row.value)) return printJson(row.value)
        const xcoms = await openXComStorage(settings.xcoms ?? {}, database)
        try {
          // A terminal gets the value parsed and escaped like any other; a pipe gets the stored
          // JSON as it streams from the store, never held whole.
          if (process.stdout.isTTY) return printJson(await resolveValue(xcoms?.store, row.value, what))
          // Without a store this throws the error that says which store to set.
          if (!xcoms) await resolveValue(undefined, row.value, what)
          else await pipeValue(xcoms.store, row.value, process.stdout, what)
          process.stdout.write('\n')
        } finally {
          await xcoms?.store.close()
        }
      })
    })
}
