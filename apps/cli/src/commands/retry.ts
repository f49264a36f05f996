import type { Command } from 'commander'
import { printJson } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { resolveRunId } from '../run-id.js'
import { storeSettings } from '../settings.js'

export function registerRetry(program: Command): void {
  program
    .command('retry')
    .description(
      "run again an ended run's tasks that did not succeed, or one task and everything downstream of it",
    )
    .argument('<runId>', 'the run id, or a unique prefix of it')
    .argument('[task]', 'retry this task and its downstream tasks (even if they succeeded)')
    .addHelpText(
      'after',
      '\nSuccessful tasks and their outputs are kept; a worker that has the pipeline runs the rest. A mapped task\n' +
        'whose upstream tasks stand runs again only its items that did not succeed.',
    )
    .option('--json', 'print { "runId": …, "queued": <the number of task runs queued again> }')
    .action(async (runId: string, task: string | undefined, flags: { json?: boolean }) => {
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const id = await resolveRunId(database, runId)
        const { retryRun } = await import('@podline/runner')
        const n = await retryRun(database, id, task)
        if (flags.json) printJson({ runId: id, queued: n })
        else process.stdout.write(`run ${id}: ${n} task(s) queued again\n`)
      })
    })
}
