import type { Command } from 'commander'
import { elapsed, firstLine, indent, printJson, table } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { resolveRunId, unknownRun } from '../run-id.js'
import { storeSettings } from '../settings.js'
import { terminalText } from '../terminal-text.js'
import { unservedMessage } from './trigger.js'

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("a run's state and a table of its tasks (state, attempt, duration, error with its stack)")
    .argument('<runId>', 'the run id, or a unique prefix of it')
    .option('--json', 'print JSON')
    .option('--raw', 'print control characters and escape sequences in errors as stored instead of escaped')
    .addHelpText('after', '\nExit status: 0 when the run exists (whatever its state), 2 when it does not.')
    .action(async (runId: string, flags: { json?: boolean; raw?: boolean }) => {
      const safe = terminalText(flags.raw)
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const id = await resolveRunId(database, runId)
        const { runStatus, formatDuration } = await import('@podline/runner')
        const status = await runStatus(database, id)
        if (!status) throw unknownRun(runId)
        if (flags.json) return printJson(status)
        const { run, tasks } = status
        const out: string[] = [
          `run ${run.id} of ${run.pipeline}@${run.version}: ${run.state}` +
            (run.finishedAt
              ? ` in ${elapsed(formatDuration, run.startedAt ?? run.createdAt, run.finishedAt)}`
              : ''),
          `params ${safe(JSON.stringify(run.params))}`,
          ...(run.logicalDate
            ? [
                `logical date ${new Date(run.logicalDate).toISOString()} (data interval from ${run.intervalStart ? new Date(run.intervalStart).toISOString() : '-'})`,
              ]
            : []),
          ...(status.served || (run.state !== 'queued' && run.state !== 'running')
            ? []
            : [unservedMessage(run.pipeline, run.version)]),
          ...(run.state === 'queued' && run.maxActiveRuns
            ? [
                `waiting: at most ${run.maxActiveRuns} run${run.maxActiveRuns === 1 ? '' : 's'} of ${run.pipeline} run at once (maxActiveRuns); it starts when one ends`,
              ]
            : []),
          '',
          table(
            ['TASK', 'STATE', 'ATTEMPT', 'DURATION', 'ERROR'],
            tasks.map((t) => [
              t.task,
              t.state,
              `${t.attempt}/${t.maxAttempts}`,
              elapsed(formatDuration, t.startedAt, t.finishedAt),
              safe(firstLine(t.error)),
            ]),
          ),
        ]
        for (const t of tasks) {
          if (!t.error) continue
          out.push('', `${t.task} (${t.state}, attempt ${t.attempt}): ${safe(t.error)}`)
          if (t.errorStack) out.push(indent(safe(t.errorStack)))
        }
        process.stdout.write(`${out.join('\n')}\n`)
      })
    })
}
