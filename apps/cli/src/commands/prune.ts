import type { Duration } from '@podline/sdk'
import type { Command } from 'commander'
import { withOperatorStore } from '../open-store.js'
import { storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

interface PruneFlags {
  olderThan: string
}

export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description(
      'delete runs that finished long ago, with their task runs, XComs, events and logs (live runs are kept)',
    )
    .requiredOption('--older-than <duration>', "how long ago a run must have finished, e.g. '30d', '12h'")
    .addHelpText(
      'after',
      '\nA worker prunes continuously with PODLINE_PRUNE_OLDER_THAN set to the same kind of duration.',
    )
    .action(async (flags: PruneFlags) => {
      const [{ deleteRunObjects, openXComStorage, pruneFinishedRuns }, { parseDuration }] = await Promise.all(
        [import('@podline/runner'), import('@podline/sdk')],
      )
      let olderThanMs: number
      try {
        // parseDuration checks the text at run time; the cast only lets a flag's string reach it.
        olderThanMs = parseDuration(flags.olderThan as Duration, '--older-than')
      } catch (error) {
        throw new UsageError((error as Error).message)
      }
      const settings = await storeSettings()
      await withOperatorStore(settings, async ({ database }) => {
        // The pruned runs' objects in the XCom store go with their rows.
        const xcoms = await openXComStorage(settings.xcoms ?? {}, database)
        const deleted = await pruneFinishedRuns(database, {
          olderThanMs,
          ...(xcoms
            ? { onPruned: async (runIds) => void (await deleteRunObjects(database, xcoms, runIds)) }
            : {}),
        }).finally(() => xcoms?.store.close())
        process.stdout.write(
          `pruned ${deleted} run${deleted === 1 ? '' : 's'} finished more than ${flags.olderThan} ago\n`,
        )
      })
    })
}
