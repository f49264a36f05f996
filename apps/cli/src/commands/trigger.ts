import type { Database, EndedRunState } from '@podline/runner'
import type { Command } from 'commander'
import { absorbedFailureLines, absorbedFailures } from '../absorbed-failures.js'
import { exitCodeOf, progressEvents } from '../follow.js'
import { printJson } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { parseParams } from '../parse-params.js'
import { warnOnStderr } from '../report-error.js'
import { storeSettings } from '../settings.js'
import { terminalText } from '../terminal-text.js'
import { UsageError } from '../usage-error.js'

interface TriggerFlags {
  params?: string
  version?: string
  wait?: boolean
  json?: boolean
  raw?: boolean
  /** false with --no-cache. */
  cache?: boolean
}

export function registerTrigger(program: Command): void {
  program
    .command('trigger')
    .description('queue a run of a pipeline that a worker has registered')
    .argument('<pipeline>', 'the pipeline name')
    .option('--params <json>', 'the run parameters as a JSON object')
    .option(
      '--version <version>',
      'queue this version of the pipeline even if no live worker serves it (default: the newest version a live worker serves)',
    )
    .option(
      '--wait',
      'show the tasks as they run (on stderr) until the run ends; exit 0 only if it succeeded',
    )
    .option('--json', 'print { "runId": …, "state": … } (with --wait, and the failed task with its error)')
    .option('--raw', "with --wait, print control characters in tasks' errors as they are instead of escaped")
    .option(
      '--no-cache',
      'run every task with a cache instead of taking its cached output (each success still refreshes its entry)',
    )
    .action(async (name: string, flags: TriggerFlags) => {
      // Traced, the run's root span is this trigger's (see newRunTrace in the runner).
      const { startTracing } = await import('@podline/host')
      const tracing = await startTracing('podline', warnOnStderr)
      try {
        process.exitCode = await trigger(name, flags)
      } finally {
        await tracing?.shutdown()
      }
    })
}

async function trigger(name: string, flags: TriggerFlags): Promise<number> {
  const params = parseParams(flags.params)
  return withOperatorStore(storeSettings(), async ({ database }) => {
    const { planToTrigger, pipelineNames, triggerPlan, InvalidParamsError } = await import('@podline/runner')
    const chosen = await planToTrigger(database, name, flags.version)
    if ('problem' in chosen) {
      if (chosen.problem === 'unknown-pipeline') {
        const known = await pipelineNames(database)
        throw new UsageError(
          `no pipeline named "${name}" is registered in ${database.location}. ${
            known.length ? `Known pipelines: ${known.join(', ')}.` : 'No pipeline is registered yet.'
          } A pipeline is registered when a worker that loads it starts (\`podline worker file.ts\`).`,
        )
      }
      const versions = `registered versions, newest first: ${chosen.registered.join(', ')}`
      throw new UsageError(
        chosen.problem === 'unknown-version'
          ? `pipeline "${name}" has no version ${flags.version} (${versions}).`
          : `no live worker serves pipeline "${name}" (${versions}), so a run would wait forever. ` +
              `Start one with: podline worker <the file that defines ${name}>, or queue a version anyway with --version <version>.`,
      )
    }
    const { plan } = chosen
    // The stored plan carries the params' JSON Schema when the schema library can produce one;
    // triggerPlan checks it and creates nothing when it fails. Workers apply the real schema again.
    const runId = await triggerPlan(
      database,
      plan,
      params,
      flags.cache === false ? { cache: false } : {},
    ).catch((error: unknown) => {
      if (error instanceof InvalidParamsError)
        throw new UsageError(`--params ${JSON.stringify(params)}: ${error.message}.`)
      throw error
    })
    if (!flags.wait) {
      if (flags.json) printJson({ runId, state: 'queued' })
      else process.stdout.write(`run ${runId} of ${name} queued\n`)
      return 0
    }
    if (!flags.json) process.stdout.write(`run ${runId} of ${name} queued; waiting for it to end\n`)
    const unserved = warnIfUnserved(database, runId, plan.name, plan.version)
    const state = await followWithProgress(
      database,
      runId,
      plan.name,
      plan.tasks.map((t) => t.name),
      terminalText(flags.raw),
    ).finally(() => clearTimeout(unserved))
    const { runStatus, taskThatFailedTheRun } = await import('@podline/runner')
    const status = await runStatus(database, runId)
    // Why it did not succeed: the task that failed the run, with its error, else the run's own error
    // (params its schema refused, a cancel).
    const failed = state === 'success' ? undefined : status && taskThatFailedTheRun(plan, status)
    const error = state === 'success' ? null : (failed?.error ?? status?.run.error ?? null)
    const absorbed = status ? absorbedFailures(status) : []
    if (flags.json) {
      printJson({
        runId,
        state,
        ...(error ? { error } : {}),
        ...(failed ? { failedTask: { task: failed.task, attempt: failed.attempt } } : {}),
        ...(absorbed.length > 0
          ? { tasksNotSucceeded: absorbed.map((t) => ({ task: t.task, state: t.state, error: t.error })) }
          : {}),
      })
    } else {
      const safe = terminalText(flags.raw)
      const why = failed
        ? `: task ${failed.task} failed (attempt ${failed.attempt}/${failed.maxAttempts}): ${safe(error ?? '')}`
        : error
          ? `: ${safe(error)}`
          : ''
      const next = failed ? `; see: podline logs ${runId} ${failed.task}` : `; see: podline status ${runId}`
      process.stdout.write(`run ${runId} ${state}${why}${state === 'success' ? '' : next}\n`)
      if (status && absorbed.length > 0)
        process.stdout.write(`${absorbedFailureLines(status, safe).join('\n')}\n`)
    }
    return exitCodeOf(state)
  })
}

/** Follows the run to its end with the live progress `podline run` shows (on stderr); its final state. */
async function followWithProgress(
  database: Database,
  runId: string,
  pipeline: string,
  tasks: readonly string[],
  safe: (text: string) => string,
): Promise<EndedRunState> {
  const [{ followRun, runStatus }, { createProgress }] = await Promise.all([
    import('@podline/runner'),
    import('../progress.js'),
  ])
  const progress = createProgress(tasks, safe)
  const toProgress = progressEvents(pipeline)
  let state: EndedRunState | undefined
  for await (const changes of followRun(database, runId)) {
    for (const e of changes.events) {
      const event = toProgress(e)
      if (event) progress.onAttempt(event)
    }
    if (changes.ended) state = changes.run.state as EndedRunState
  }
  progress.finish((await runStatus(database, runId))?.tasks ?? [])
  if (state === undefined) throw new Error(`run ${runId} stopped being followed before it ended`)
  return state
}

/** How long `trigger --wait` lets a run sit queued before it checks that someone serves it. */
const UNSERVED_WARNING_MS = 3000

/** After a few seconds, says on stderr when the run is still queued and no live worker serves its version. */
function warnIfUnserved(
  database: Database,
  runId: string,
  pipeline: string,
  version: string,
): NodeJS.Timeout {
  return setTimeout(async () => {
    const { runStatus } = await import('@podline/runner')
    const status = await runStatus(database, runId).catch(() => undefined)
    if (status?.run.state === 'queued' && !status.served)
      process.stderr.write(`${unservedMessage(pipeline, version)}\n`)
  }, UNSERVED_WARNING_MS).unref()
}

export function unservedMessage(pipeline: string, version: string): string {
  return (
    `no live worker serves ${pipeline}@${version}: the run stays queued until one does. ` +
    `Start one with: podline worker <the file that defines ${pipeline}>`
  )
}
