import type { Command } from 'commander'
import { elapsed, printJson, table } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { parseCount, storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

interface RunsFlags {
  pipeline?: string
  state?: string
  limit: number
  json?: boolean
}

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('list the latest runs, newest first')
    .option('--pipeline <name>', 'only the runs of this pipeline')
    .option('--state <state>', 'only the runs in this state (queued, running, success, failed, cancelled)')
    .option('--limit <n>', 'how many (default 50)', parseCount, 50)
    .option('--json', 'print JSON')
    .action(async (flags: RunsFlags) => {
      const { listRuns, formatDuration, schema } = await import('@podline/runner')
      const { state } = flags
      const states: readonly string[] = schema.RUN_STATES
      if (state !== undefined && !isRunState(state, schema.RUN_STATES))
        throw new UsageError(`--state ${state} is not a run state; use one of ${states.join(', ')}.`)
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const rows = await listRuns(database, {
          limit: flags.limit,
          ...(flags.pipeline ? { pipeline: flags.pipeline } : {}),
          ...(state ? { state } : {}),
        })
        if (flags.json) return printJson(rows)
        if (rows.length === 0) return void process.stdout.write('no runs\n')
        process.stdout.write(
          `${table(
            ['RUN', 'PIPELINE', 'STATE', 'CREATED', 'DURATION'],
            rows.map((r) => [
              r.id,
              r.pipeline,
              r.state,
              new Date(r.createdAt).toISOString(),
              elapsed(formatDuration, r.startedAt ?? r.createdAt, r.finishedAt),
            ]),
          )}\n`,
        )
      })
    })
}

function isRunState<const S extends string>(value: string, states: readonly S[]): value is S {
  return (states as readonly string[]).includes(value)
}
