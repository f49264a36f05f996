import type { Command } from 'commander'
import { withOperatorStore } from '../open-store.js'
import { storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

export function registerPause(program: Command): void {
  for (const paused of [true, false]) {
    const verb = paused ? 'pause' : 'unpause'
    program
      .command(verb)
      .description(
        paused
          ? "stop creating a pipeline's scheduled runs (runs already created go on)"
          : "resume a pipeline's schedule: with catchup the ticks missed while paused are created, without they are skipped",
      )
      .argument('<pipeline>', 'the pipeline name')
      .addHelpText('after', '\nExit status: 0 when done, 2 when the pipeline has no schedule.')
      .action(async (pipeline: string) => {
        await withOperatorStore(storeSettings(), async ({ database }) => {
          const { setSchedulePaused } = await import('@podline/runner')
          if (!(await setSchedulePaused(database, pipeline, paused)))
            throw new UsageError(
              `pipeline "${pipeline}" has no schedule: none is registered until a live worker serves a version with \`schedule\`. See \`podline schedules\`.`,
            )
          process.stdout.write(`${pipeline}: schedule ${paused ? 'paused' : 'unpaused'}\n`)
        })
      })
  }
}
