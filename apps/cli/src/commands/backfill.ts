import { type Command, InvalidArgumentError } from 'commander'
import { printJson } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { parseCount, storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

interface BackfillFlags {
  from: Date
  to: Date
  maxActive?: number
  json?: boolean
}

function parseInstant(value: string): Date {
  const ms = Date.parse(value)
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(
      'expected an ISO date or date-time, e.g. 2026-03-01 or 2026-03-01T03:00:00+01:00.',
    )
  return new Date(ms)
}

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description(
      "create one run per tick of a pipeline's schedule in [--from, --to], idempotently: a tick that has a run gets no other",
    )
    .argument('<pipeline>', 'the pipeline name')
    .requiredOption('--from <iso>', 'the first instant of the range (inclusive)', parseInstant)
    .requiredOption(
      '--to <iso>',
      'the last instant of the range (inclusive; not in the future)',
      parseInstant,
    )
    .option('--max-active <n>', 'at most this many runs of the range queued or running at once', parseCount)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nThe workers serving the pipeline create the runs (they hold schedule.params); runs wait their turn under --max-active.\nExit status: 0 when recorded, 2 on bad input or a pipeline without a schedule.',
    )
    .action(async (pipeline: string, flags: BackfillFlags) => {
      if (flags.from > flags.to)
        throw new UsageError(
          `--from ${flags.from.toISOString()} is after --to ${flags.to.toISOString()}; swap them.`,
        )
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { requestBackfill, MAX_BACKFILL_TICKS } = await import('@podline/runner')
        const outcome = await requestBackfill(database, {
          pipeline,
          from: flags.from,
          to: flags.to,
          ...(flags.maxActive ? { maxActive: flags.maxActive } : {}),
        })
        if (!outcome.recorded) {
          const cron = `'${outcome.cron}'`
          throw new UsageError(
            {
              'no-schedule': `pipeline "${pipeline}" has no schedule to backfill: none is registered until a live worker serves a version with \`schedule\`. See \`podline schedules\`.`,
              'in-the-future': `--to ${flags.to.toISOString()} is in the future; a backfill covers past ticks (the schedule creates the rest).`,
              'too-many-ticks': `the range holds more than ${MAX_BACKFILL_TICKS} ticks of ${cron}; backfill it in smaller ranges.`,
              'no-ticks': `no tick of ${cron} falls between ${flags.from.toISOString()} and ${flags.to.toISOString()}.`,
            }[outcome.problem],
          )
        }
        const { ticks, existing } = outcome
        const summary = {
          pipeline,
          ticks,
          existing,
          toCreate: ticks - existing,
          maxActive: flags.maxActive ?? null,
        }
        if (flags.json) return printJson(summary)
        process.stdout.write(
          `${pipeline}: ${ticks} tick${ticks === 1 ? '' : 's'} from ${outcome.first.toISOString()} to ${outcome.last.toISOString()}; ` +
            (summary.toCreate === 0
              ? 'every one already has a run: nothing new to create\n'
              : `${existing} already ha${existing === 1 ? 's' : 've'} a run, the workers create the other ${summary.toCreate}` +
                (flags.maxActive ? ` (at most ${flags.maxActive} queued or running at once)\n` : '\n')),
        )
      })
    })
}
