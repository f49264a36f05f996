import type { Command } from 'commander'
import { printJson } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { parseJsonFlag } from '../parse-params.js'
import { resolveRunId } from '../run-id.js'
import { storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

export function registerSignal(program: Command): void {
  program
    .command('signal')
    .description(
      "send a signal to a run's wait step: its payload, checked by the step's schema, becomes its output",
    )
    .argument('<runId>', 'the run id, or a unique prefix of it')
    .argument('<step>', 'the name of the .wait step')
    .option(
      '--json <payload>',
      'the payload as JSON, quoted for the shell, e.g. --json \'{"approved":true,"by":"ana"}\'',
    )
    .option('--print-json', 'print { "runId": …, "step": …, "signalled": true }')
    .addHelpText(
      'after',
      '\nExit status: 0 when the step took the signal; 2 when the payload fails its schema, the step is not a wait, is not waiting (yet, or any more), or there is no such run.',
    )
    .action(async (runId: string, step: string, flags: { json?: string; printJson?: boolean }) => {
      const payload = parseJsonFlag(flags.json, {
        what: 'payload',
        example: `podline signal ${runId} ${step} --json '{"approved":true}'`,
        unchanged: 'Nothing was sent.',
      })
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const id = await resolveRunId(database, runId)
        const { signalWait, SignalError } = await import('@podline/runner')
        try {
          await signalWait(database, id, step, payload)
        } catch (error) {
          if (error instanceof SignalError) throw new UsageError(`${error.message}.`)
          throw error
        }
        if (flags.printJson) return printJson({ runId: id, step, signalled: true })
        process.stdout.write(`run ${id}: ${step} signalled; the tasks after it start now\n`)
      })
    })
}
