import type { Command } from 'commander'
import { between, formatDuration, printJson, table } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { storeSettings } from '../settings.js'

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('list the latest runs, newest first')
    .option('--pipeline <name>', 'only the runs of this pipeline')
    .option('--limit <n>', 'how many', (v) => Number.parseInt(v, 10), 50)
    .option('--json', 'print JSON')
    .action(async (flags: { pipeline?: string; limit: number; json?: boolean }) => {
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { listRuns } = await import('@podline/runner')
        const rows = await listRuns(database, {
          limit: flags.limit,
          ...(flags.pipeline ? { pipeline: flags.pipeline } : {}),
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
              formatDuration(between(r.startedAt ?? r.createdAt, r.finishedAt)),
            ]),
          )}\n`,
        )
      })
    })
}
