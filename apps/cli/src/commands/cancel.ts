import type { Command } from 'commander'
import { withOperatorStore } from '../open-store.js'
import { checkRunId, unknownRun } from '../run-id.js'
import { storeSettings } from '../settings.js'

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel a queued or running run: its tasks stop (signal aborted, pods deleted)')
    .argument('<runId>')
    .addHelpText(
      'after',
      '\nExit status: 0 when cancelled, 1 when the run had already ended, 2 when there is no such run.',
    )
    .action(async (runId: string) => {
      const id = checkRunId(runId)
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { cancelRun, runStatus } = await import('@podline/runner')
        if (await cancelRun(database, id)) return void process.stdout.write(`run ${id} cancelled\n`)
        const status = await runStatus(database, id)
        if (!status) throw unknownRun(runId)
        process.stderr.write(`podline: run ${id} already ended (${status.run.state}); nothing to cancel.\n`)
        process.exitCode = 1
      })
    })
}
