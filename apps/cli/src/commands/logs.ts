import type { Database, RunStatus, TaskLogLine } from '@podline/runner'
import type { Command } from 'commander'
import { exitCodeOf, formatLogLine } from '../follow.js'
import { indent } from '../format.js'
import { checkItem, ITEM_OPTION, parseItem } from '../item-option.js'
import { withOperatorStore } from '../open-store.js'
import { resolveRunId, unknownRun } from '../run-id.js'
import { storeSettings } from '../settings.js'
import { safeJsonLine, terminalText } from '../terminal-text.js'
import { UsageError } from '../usage-error.js'

interface LogsFlags {
  item?: number
  raw?: boolean
  follow?: boolean
  json?: boolean
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("a run's stored task log lines, then the error and stack of each failed task")
    .argument('<runId>', 'the run id, or a unique prefix of it')
    .argument('[task]', 'only this task')
    .option(...ITEM_OPTION, parseItem)
    .option('-f, --follow', 'print new lines as the tasks write them, until the run ends')
    .option('--json', "print one JSON object a line: each log line, then each failed task's error")
    .option('--raw', 'print control characters and escape sequences as stored instead of escaped')
    .addHelpText(
      'after',
      '\nExit status: 0 when the run exists; with --follow, 0 when the run succeeded and 1 when it failed or was cancelled.',
    )
    .action(async (runId: string, task: string | undefined, flags: LogsFlags) => {
      process.exitCode = await logs(runId, task, flags)
    })
}

async function logs(runId: string, task: string | undefined, flags: LogsFlags): Promise<number> {
  const safe = terminalText(flags.raw)
  const print = (lines: readonly string[]) => {
    if (lines.length) process.stdout.write(`${lines.join('\n')}\n`)
  }
  const printLines = (lines: readonly TaskLogLine[]) =>
    print(
      lines.map((line) =>
        flags.json
          ? safeJsonLine({
              kind: 'log',
              at: line.createdAt,
              task: line.task,
              ...(line.mapIndex >= 0 ? { item: line.mapIndex } : {}),
              attempt: line.attempt,
              level: line.level,
              message: line.message,
              fields: line.fields,
            })
          : formatLogLine(line, safe),
      ),
    )
  return withOperatorStore(storeSettings(), async ({ database }) => {
    const id = await resolveRunId(database, runId)
    const { runStatus, taskLogLines, followRun } = await import('@podline/runner')
    const status = await checkedStatus(database, id, runId, task, safe)
    const { item } = flags
    if (item !== undefined) {
      if (task === undefined)
        throw new UsageError('--item needs a task: podline logs <runId> <task> --item <index>')
      await checkItem(database, id, task, item)
    }
    if (!flags.follow) {
      const lines = await taskLogLines(database, id, task, item === undefined ? {} : { item })
      printLines(lines)
      const failures = failureLines(status, task, flags.json, safe)
      print(failures)
      if (!flags.json && lines.length === 0 && failures.length === 0)
        print([`no log lines for run ${id}${task ? ` task ${task}` : ''}`])
      return 0
    }
    let state = status.run.state
    for await (const changes of followRun(database, id, task === undefined ? {} : { task })) {
      printLines(item === undefined ? changes.logs : changes.logs.filter((l) => l.mapIndex === item))
      state = changes.run.state
    }
    const final = (await runStatus(database, id)) ?? status
    print(failureLines(final, task, flags.json, safe))
    if (!flags.json) print([`run ${id} ${state}`])
    return exitCodeOf(state)
  })
}

async function checkedStatus(
  database: Database,
  id: string,
  typed: string,
  task: string | undefined,
  safe: (text: string) => string,
): Promise<RunStatus> {
  const { runStatus } = await import('@podline/runner')
  const status = await runStatus(database, id)
  if (!status) throw unknownRun(typed)
  if (task !== undefined && !status.tasks.some((t) => t.task === task)) {
    throw new UsageError(
      `run ${id} has no task "${safe(task)}"; its tasks are ${status.tasks.map((t) => t.task).join(', ')}.`,
    )
  }
  return status
}

/** The error and stack of each failed task (or `task` alone). */
function failureLines(
  status: RunStatus,
  task: string | undefined,
  json: boolean | undefined,
  safe: (text: string) => string,
): string[] {
  const out: string[] = []
  for (const t of status.tasks) {
    if ((task !== undefined && t.task !== task) || !t.error) continue
    if (json) {
      out.push(
        safeJsonLine({
          kind: 'error',
          task: t.task,
          attempt: t.attempt,
          state: t.state,
          error: t.error,
          stack: t.errorStack,
        }),
      )
      continue
    }
    out.push(`${t.task}#${t.attempt} ${t.state}: ${safe(t.error)}`)
    if (t.errorStack) out.push(indent(safe(t.errorStack)))
  }
  return out
}
