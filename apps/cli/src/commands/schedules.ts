import type { Command } from 'commander'
import { printJson, table } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { storeSettings } from '../settings.js'

export function registerSchedules(program: Command): void {
  program
    .command('schedules')
    .description('list the scheduled pipelines: cron, zone, next tick, last logical date, paused')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { listSchedules, isoInZone } = await import('@podline/runner')
        const rows = await listSchedules(database)
        if (flags.json) return printJson(rows)
        if (rows.length === 0)
          return void process.stdout.write(
            'no scheduled pipelines (a schedule is registered by a live worker serving a pipeline with `schedule`)\n',
          )
        const when = (d: Date | null, zone: string) => (d ? isoInZone(d, zone) : '-')
        process.stdout.write(
          `${table(
            ['PIPELINE', 'CRON', 'ZONE', 'NEXT TICK', 'LAST LOGICAL DATE', 'CATCHUP', 'PAUSED'],
            rows.map((r) => [
              r.pipeline,
              r.cron,
              r.timezone,
              when(r.nextTick, r.timezone),
              when(r.lastLogicalDate, r.timezone),
              r.catchup ? `yes (max ${r.maxCatchup})` : 'no',
              r.paused ? 'yes' : 'no',
            ]),
          )}\n`,
        )
      })
    })
}
