import type { RunStatus } from '@podline/runner'
import { callbackLabel } from '@podline/sdk'
import type { Command } from 'commander'
import { absorbedFailureLines } from '../absorbed-failures.js'
import { exitCodeOf, formatEvent } from '../follow.js'
import { elapsed, firstLine, indent, printJson, table } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { resolveRunId, unknownRun } from '../run-id.js'
import { storeSettings } from '../settings.js'
import { terminalText } from '../terminal-text.js'
import { unservedMessage } from './trigger.js'

interface StatusFlags {
  json?: boolean
  raw?: boolean
  watch?: boolean
}

type Format = (ms: number) => string
type Safe = (text: string) => string

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("a run's state and a table of its tasks (state, attempt, duration, error with its stack)")
    .argument('<runId>', 'the run id, or a unique prefix of it')
    .option('--json', 'print JSON')
    .option(
      '-w, --watch',
      'redraw the table as the states change, until the run ends (not on a terminal: a line per change)',
    )
    .option('--raw', 'print control characters and escape sequences in errors as stored instead of escaped')
    .addHelpText(
      'after',
      '\nExit status: 0 when the run exists (whatever its state), 2 when it does not; with --watch, 0 when the run succeeded and 1 when it failed or was cancelled.',
    )
    .action(async (runId: string, flags: StatusFlags) => {
      process.exitCode = await status(runId, flags)
    })
}

async function status(runId: string, flags: StatusFlags): Promise<number> {
  const safe = terminalText(flags.raw)
  return withOperatorStore(storeSettings(), async ({ database }) => {
    const id = await resolveRunId(database, runId)
    const { runStatus, formatDuration, followRun } = await import('@podline/runner')
    const first = await runStatus(database, id)
    if (!first) throw unknownRun(runId)
    if (!flags.watch) {
      if (flags.json) printJson(first)
      else process.stdout.write(`${statusLines(first, formatDuration, safe, true).join('\n')}\n`)
      return 0
    }
    const out = process.stdout
    // A redraw moves the cursor up over what was drawn: only on a terminal, and only without --json.
    const redraw = out.isTTY && !flags.json
    let drawn = 0
    let last = first
    let initial = true
    for await (const changes of followRun(database, id)) {
      const now = (await runStatus(database, id)) ?? last
      last = now
      if (flags.json) {
        printJson(now)
      } else if (redraw) {
        // Stacks wait for the end: a drawing taller than the screen could not be moved over.
        const lines = statusLines(now, formatDuration, safe, changes.ended).map((l) =>
          changes.ended ? l : l.slice(0, (out.columns || 100) - 1),
        )
        out.write(`${drawn ? `\x1b[${drawn}A\x1b[0J` : ''}${lines.join('\n')}\n`)
        drawn = lines.length
      } else if (initial) {
        out.write(`${statusLines(now, formatDuration, safe, false).join('\n')}\n\n`)
      } else {
        const lines = changes.events.map((e) => formatEvent(e, safe))
        if (lines.length) out.write(`${lines.join('\n')}\n`)
      }
      initial = false
    }
    if (!flags.json && !redraw) out.write(`\n${statusLines(last, formatDuration, safe, true).join('\n')}\n`)
    return exitCodeOf(last.run.state)
  })
}

/** A keyed run's key, and while it is queued what it waits for. */
function concurrencyLines(run: RunStatus['run'], safe: Safe): string[] {
  if (run.concurrencyLimit === null) return []
  const limit = `${run.concurrencyLimit} run${run.concurrencyLimit === 1 ? '' : 's'}`
  if (run.concurrencyKey === null)
    return run.state === 'queued'
      ? [
          'waiting: its concurrency key is computed by a worker serving this version, then it queues behind that key',
        ]
      : []
  const key = `concurrency key ${safe(JSON.stringify(run.concurrencyKey))}`
  return run.state === 'queued'
    ? [`waiting: ${key} allows ${limit} at once; it starts when one ends, oldest first`]
    : [`${key} (at most ${limit} at once)`]
}

/** The asset events that created the run, one line each (none for other runs). */
function assetLines(assets: unknown, safe: Safe): string[] {
  if (!assets || typeof assets !== 'object') return []
  return Object.entries(
    assets as Record<
      string,
      { id: string; producer: { pipeline: string; runId: string; task: string } | null }
    >,
  ).map(
    ([name, e]) =>
      `on asset ${safe(name)}: event #${e.id}, ${e.producer ? `from run ${e.producer.runId} of ${safe(e.producer.pipeline)}.${safe(e.producer.task)}` : 'emitted'}`,
  )
}

/** The run's header, its task table and (when `stacks`) each error with its stack. */
function statusLines(status: RunStatus, format: Format, safe: Safe, stacks: boolean): string[] {
  const { run, tasks } = status
  const out: string[] = [
    `run ${run.id} of ${run.pipeline}@${run.version}: ${run.state}` +
      (run.finishedAt ? ` in ${elapsed(format, run.startedAt ?? run.createdAt, run.finishedAt)}` : ''),
    ...absorbedFailureLines(status, safe),
    `params ${safe(JSON.stringify(run.params))}`,
    ...(run.logicalDate
      ? [
          `logical date ${new Date(run.logicalDate).toISOString()} (data interval from ${run.intervalStart ? new Date(run.intervalStart).toISOString() : '-'})`,
        ]
      : []),
    ...assetLines(run.assets, safe),
    ...(status.served || (run.state !== 'queued' && run.state !== 'running')
      ? []
      : [unservedMessage(run.pipeline, run.version)]),
    ...(run.state === 'queued' && run.maxActiveRuns
      ? [
          `waiting: at most ${run.maxActiveRuns} run${run.maxActiveRuns === 1 ? '' : 's'} of ${run.pipeline} run at once (maxActiveRuns); it starts when one ends`,
        ]
      : []),
    ...concurrencyLines(run, safe),
    ...(run.deadlineAt
      ? [
          `deadline ${new Date(run.deadlineAt).toISOString()}${run.deadlineMissedAt ? ` (missed: still ${run.state === 'queued' ? 'queued' : 'running'} then)` : ''}`,
        ]
      : []),
    '',
    ...table(
      ['TASK', 'STATE', 'ATTEMPT', 'DURATION', 'ERROR'],
      tasks.map((t) => [
        t.task,
        // A wait's task run is queued for no worker: it waits for its signal or its time.
        t.kind === 'wait' && t.state === 'queued'
          ? 'waiting'
          : t.waitsForKey && t.state === 'queued'
            ? t.concurrencyKey === null
              ? 'waiting for its key or priority from its inputs'
              : `waiting for key ${safe(t.concurrencyKey)}`
            : t.cachedFrom
              ? `${t.state} (cached from run ${t.cachedFrom})`
              : itemCounts(t.state, status.items[t.task]),
        `${t.attempt}/${t.maxAttempts}`,
        elapsed(format, t.startedAt, t.finishedAt),
        safe(firstLine(t.error)),
      ]),
    ).split('\n'),
  ]
  // The run's callbacks (onFailure, onSuccess, …) and its tasks' (extract.onRetry), as they were queued.
  if (status.callbacks.length > 0) out.push('')
  for (const c of status.callbacks) {
    const hook = callbackLabel(c)
    const tries = `${c.tries} tr${c.tries === 1 ? 'y' : 'ies'}`
    const error = c.error ? `: ${safe(firstLine(c.error))}` : ''
    out.push(
      c.state === 'queued' && c.tries > 0
        ? `${hook}: waiting to be tried again after ${tries}${error}`
        : `${hook}: ${c.state}${c.tries > 0 ? ` after ${tries}` : ''}${c.state === 'failed' ? error : ''}`,
    )
  }
  // A mapped task is one row; the items that failed are listed under the table, one line each.
  for (const [task, items] of Object.entries(status.items)) {
    if (items.failed.length === 0) continue
    out.push('', `${task}: ${items.failed.length} failed item${items.failed.length === 1 ? '' : 's'}`)
    for (const item of items.failed)
      out.push(
        `  item ${item.index} (${item.state}, attempt ${item.attempt}): ${safe(firstLine(item.error))}`,
      )
  }
  if (!stacks) return out
  for (const t of tasks) {
    if (!t.error) continue
    out.push('', `${t.task} (${t.state}, attempt ${t.attempt}): ${safe(t.error)}`)
    if (t.errorStack) out.push(...indent(safe(t.errorStack)).split('\n'))
  }
  return out
}

/** A mapped task's state with its items by state, "failed (3 items: 2 success, 1 failed)"; else the state. */
function itemCounts(state: string, items: RunStatus['items'][string] | undefined): string {
  if (!items) return state
  const byState = Object.entries(items.byState).map(([s, n]) => `${n} ${s}`)
  return `${state} (${items.total} item${items.total === 1 ? '' : 's'}: ${byState.join(', ')})`
}
