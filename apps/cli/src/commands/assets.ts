import type { Command } from 'commander'
import { printJson, table } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { parseJsonFlag } from '../parse-params.js'
import { storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

/** A value as one table cell: its JSON, cut to a line. */
const preview = (value: unknown, max = 60): string => {
  const json = JSON.stringify(value)
  return json.length > max ? `${json.slice(0, max - 1)}…` : json
}

export function registerAssets(program: Command): void {
  const assets = program
    .command('assets')
    .description(
      'list the assets the registered pipelines produce and run on: producers, consumers and the last event',
    )
    .option('--json', 'print JSON')
    .allowExcessArguments(true)
    .addHelpText(
      'after',
      '\nA task records an event of an asset with `produces: asset` when it succeeds; a pipeline `on` it runs once per event.\n' +
        "  podline assets emit NAME --json '{…}'   record an event from outside, checked against the asset's schema\n" +
        '  podline assets events NAME             list its events, newest first',
    )
    .action(async (flags: { json?: boolean }, command: Command) => {
      const [verb] = command.args
      if (verb !== undefined)
        throw new UsageError(
          `unknown command "assets ${verb}": use \`podline assets\` to list, \`podline assets emit NAME --json '{…}'\` or \`podline assets events NAME\``,
        )
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { listAssets } = await import('@podline/runner')
        const rows = await listAssets(database)
        if (flags.json) return printJson(rows)
        if (rows.length === 0)
          return void process.stdout.write(
            'no assets: a pipeline declares one with `produces` or `on` (asset(name, schema) in @podline/sdk), registered when a worker serving it starts\n',
          )
        process.stdout.write(
          `${table(
            ['ASSET', 'PRODUCED BY', 'CONSUMED BY', 'LAST EVENT', 'FROM'],
            rows.map((a) => [
              a.name,
              a.producers.map((p) => `${p.pipeline}.${p.task}`).join(', ') || '-',
              a.consumers
                .map((c) =>
                  c.with.length > 0 ? `${c.pipeline} (${c.mode} with ${c.with.join(', ')})` : c.pipeline,
                )
                .join(', ') || '-',
              a.lastEvent ? `#${a.lastEvent.id} ${a.lastEvent.createdAt}` : 'none yet',
              a.lastEvent ? (a.lastEvent.producer ? `run ${a.lastEvent.producer.runId}` : 'emitted') : '',
            ]),
          )}\n`,
        )
      })
    })

  assets
    .command('emit')
    .description('record an event of an asset, checked against its schema: the pipelines on it run')
    .argument('<name>', "the asset's name, as asset(name, schema) gives it")
    .option(
      '--json <value>',
      'the value as JSON, quoted for the shell, e.g. --json \'{"date":"2026-12-07","rows":120}\'',
    )
    .option('--print-json', 'print { "asset": …, "eventId": … }')
    .addHelpText(
      'after',
      '\nExit status: 0 when the event was recorded; 2 when no registered pipeline declares the asset or the value fails its schema (nothing is recorded).',
    )
    .action(async (name: string, flags: { json?: string; printJson?: boolean }) => {
      const value = parseJsonFlag(flags.json, {
        what: 'value',
        example: `podline assets emit ${name} --json '{"rows":1}'`,
        unchanged: 'Nothing was recorded.',
      })
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { emitAssetEvent, AssetEmitError } = await import('@podline/runner')
        let eventId: string
        try {
          eventId = await emitAssetEvent(database, name, value)
        } catch (error) {
          if (error instanceof AssetEmitError) throw new UsageError(`${error.message}.`)
          throw error
        }
        if (flags.printJson) return printJson({ asset: name, eventId })
        process.stdout.write(`asset ${name}: event #${eventId} recorded; the pipelines on it run now\n`)
      })
    })

  assets
    .command('events')
    .description('list the events of an asset, newest first')
    .argument('<name>', "the asset's name")
    .option('--limit <n>', 'how many (at most 500)', '20')
    .option('--before <id>', 'only events older than this event id (the next page)')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { limit: string; before?: string; json?: boolean }) => {
      const limit = Number(flags.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw new UsageError(
          `--limit must be a whole number from 1 to 500, got ${JSON.stringify(flags.limit)}`,
        )
      if (flags.before !== undefined && !/^\d{1,18}$/.test(flags.before))
        throw new UsageError(`--before takes an event id (a number), got ${JSON.stringify(flags.before)}`)
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { assetEvents } = await import('@podline/runner')
        const events = await assetEvents(database, name, {
          limit,
          ...(flags.before === undefined ? {} : { before: flags.before }),
        })
        if (flags.json) return printJson(events)
        if (events.length === 0) return void process.stdout.write(`no events of asset ${name}\n`)
        process.stdout.write(
          `${table(
            ['EVENT', 'AT', 'FROM', 'VALUE'],
            events.map((e) => [
              `#${e.id}`,
              e.createdAt,
              e.producer ? `${e.producer.pipeline}.${e.producer.task} run ${e.producer.runId}` : 'emitted',
              preview(e.value),
            ]),
          )}\n`,
        )
      })
    })
}
