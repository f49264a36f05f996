import type { Command } from 'commander'
import { indent } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { resolveRunId, unknownRun } from '../run-id.js'
import { storeSettings } from '../settings.js'
import { terminalText } from '../terminal-text.js'
import { UsageError } from '../usage-error.js'

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("a run's stored task log lines, then the error and stack of each failed task")
    .argument('<runId>', 'the run id, or a unique prefix of it')
    .argument('[task]', 'only this task')
    .option('--raw', 'print control characters and escape sequences as stored instead of escaped')
    .action(async (runId: string, task: string | undefined, flags: { raw?: boolean }) => {
      const safe = terminalText(flags.raw)
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const id = await resolveRunId(database, runId)
        const { runStatus, taskLogLines } = await import('@podline/runner')
        const status = await runStatus(database, id)
        if (!status) throw unknownRun(runId)
        if (task !== undefined && !status.tasks.some((t) => t.task === task)) {
          throw new UsageError(
            `run ${id} has no task "${safe(task)}"; its tasks are ${status.tasks.map((t) => t.task).join(', ')}.`,
          )
        }
        const out: string[] = []
        for (const line of await taskLogLines(database, id, task)) {
          const fields =
            line.fields && Object.keys(line.fields).length ? ` ${JSON.stringify(line.fields)}` : ''
          out.push(
            `${new Date(line.createdAt).toISOString()} ${line.task}#${line.attempt} ${line.level.toUpperCase().padEnd(5)} ${safe(line.message + fields)}`,
          )
        }
        for (const t of status.tasks) {
          if ((task !== undefined && t.task !== task) || !t.error) continue
          out.push(`${t.task}#${t.attempt} ${t.state}: ${safe(t.error)}`)
          if (t.errorStack) out.push(indent(safe(t.errorStack)))
        }
        if (out.length === 0) out.push(`no log lines for run ${id}${task ? ` task ${task}` : ''}`)
        process.stdout.write(`${out.join('\n')}\n`)
      })
    })
}
