import type { Command } from 'commander'
import { elapsed, printJson, table } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { resolveRunId, unknownRun } from '../run-id.js'
import { parseCount, storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

interface RunsFlags {
  pipeline?: string
  state?: string
  limit: number
  after?: string
  json?: boolean
}

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('list the latest runs, newest first')
    .option('--pipeline <name>', 'only the runs of this pipeline')
    .option('--state <state>', 'only the runs in this state (queued, running, success, failed, cancelled)')
    .option('--limit <n>', 'how many (default 50)', parseCount, 50)
    .option(
      '--after <runId>',
      'the next page: the runs listed after this one (the last of the previous page)',
    )
    .option('--json', 'print JSON')
    .action(async (flags: RunsFlags) => {
      const { listRuns, formatDuration, runStatus, RUN_STATES } = await import('@podline/runner')
      const { state } = flags
      const states: readonly string[] = RUN_STATES
      if (state !== undefined && !isRunState(state, RUN_STATES))
        throw new UsageError(`--state ${state} is not a run state; use one of ${states.join(', ')}.`)
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const after = flags.after === undefined ? undefined : await resolveRunId(database, flags.after)
        // A whole id resolves without a lookup; a page after a run that is not there would be empty.
        if (after && !(await runStatus(database, after))) throw unknownRun(flags.after ?? after)
        // One row more than shown says whether there is a next page.
        const page = await listRuns(database, {
          limit: flags.limit + 1,
          ...(flags.pipeline ? { pipeline: flags.pipeline } : {}),
          ...(state ? { state } : {}),
          ...(after ? { after } : {}),
        })
        const rows = page.slice(0, flags.limit)
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
        const last = rows.at(-1)
        if (page.length > rows.length && last) process.stderr.write(`more: ${nextPage(flags, last.id)}\n`)
      })
    })
}

/** The command that lists the next page: the same filters, after the last run shown. */
function nextPage(flags: RunsFlags, lastId: string): string {
  const words = ['podline runs']
  if (flags.pipeline) words.push(`--pipeline ${quote(flags.pipeline)}`)
  if (flags.state) words.push(`--state ${flags.state}`)
  if (flags.limit !== 50) words.push(`--limit ${flags.limit}`)
  words.push(`--after ${lastId}`)
  return words.join(' ')
}

/** A pipeline name as a shell word. */
const quote = (word: string) => (/^[\w.@/-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`)

function isRunState<const S extends string>(value: string, states: readonly S[]): value is S {
  return (states as readonly string[]).includes(value)
}
