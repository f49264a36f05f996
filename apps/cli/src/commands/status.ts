import type { Command } from 'commander'
import { between, firstLine, formatDuration, indent, printJson, table } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { checkRunId, unknownRun } from '../run-id.js'
import { storeSettings } from '../settings.js'
import { unservedMessage } from './trigger.js'

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("a run's state and a table of its tasks (state, attempt, duration, error with its stack)")
    .argument('<runId>')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit status: 0 when the run exists (whatever its state), 2 when it does not.')
    .action(async (runId: string, flags: { json?: boolean }) => {
      const id = checkRunId(runId)
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { runStatus } = await import('@podline/runner')
        const status = await runStatus(database, id)
        if (!status) throw unknownRun(runId)
        if (flags.json) return printJson(status)
        const { run, tasks } = status
        const out: string[] = [
          `run ${run.id} of ${run.pipeline}@${run.version}: ${run.state}` +
            (run.finishedAt
              ? ` in ${formatDuration(between(run.startedAt ?? run.createdAt, run.finishedAt))}`
              : ''),
          `params ${JSON.stringify(run.params)}`,
          ...(status.served || (run.state !== 'queued' && run.state !== 'running')
            ? []
            : [unservedMessage(run.pipeline, run.version)]),
          '',
          table(
            ['TASK', 'STATE', 'ATTEMPT', 'DURATION', 'ERROR'],
            tasks.map((t) => [
              t.task,
              t.state,
              `${t.attempt}/${t.maxAttempts}`,
              formatDuration(between(t.startedAt, t.finishedAt)),
              firstLine(t.error),
            ]),
          ),
        ]
        for (const t of tasks) {
          if (!t.error) continue
          out.push('', `${t.task} (${t.state}, attempt ${t.attempt}): ${t.error}`)
          if (t.errorStack) out.push(indent(t.errorStack))
        }
        process.stdout.write(`${out.join('\n')}\n`)
      })
    })
}
