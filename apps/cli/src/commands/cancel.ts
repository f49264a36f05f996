import type { Command } from 'commander'
import { printJson } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { resolveRunId, unknownRun } from '../run-id.js'
import { storeSettings } from '../settings.js'

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel a queued or running run: its tasks stop (signal aborted, pods deleted)')
    .argument('<runId>', 'the run id, or a unique prefix of it')
    .addHelpText(
      'after',
      '\nExit status: 0 when cancelled, 1 when the run had already ended, 2 when there is no such run.',
    )
    .option('--json', 'print { "runId": …, "cancelled": true|false, "state": … }')
    .action(async (runId: string, flags: { json?: boolean }) => {
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const id = await resolveRunId(database, runId)
        const { cancelRun, runStatus } = await import('@podline/runner')
        if (await cancelRun(database, id)) {
          if (flags.json) return printJson({ runId: id, cancelled: true, state: 'cancelled' })
          return void process.stdout.write(`run ${id} cancelled\n`)
        }
        const status = await runStatus(database, id)
        if (!status) throw unknownRun(runId)
        process.exitCode = 1
        if (flags.json) return printJson({ runId: id, cancelled: false, state: status.run.state })
        process.stderr.write(`podline: run ${id} already ended (${status.run.state}); nothing to cancel.\n`)
      })
    })
}
