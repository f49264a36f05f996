import type { Command } from 'commander'
import { firstLine } from '../format.js'
import { warnOnStderr } from '../report-error.js'
import { executionSettings, parseCount, parseRuntime } from '../settings.js'
import { escapeControl } from '../terminal-text.js'
import { assertTypeChecks } from '../type-check.js'

interface WorkerFlags {
  concurrency?: number
  podConcurrency?: number
  runtime?: 'kubernetes' | 'process'
  namespace?: string
  kubeContext?: string
  check?: boolean
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run the tasks of the pipelines in these files, queued by any trigger, until SIGTERM or SIGINT',
    )
    .argument('<files...>', 'pipeline files or globs (quote globs: "pipelines/*.ts")')
    .option(
      '--concurrency <n>',
      'inline task runs processed at once (env PODLINE_CONCURRENCY, default 4)',
      parseCount,
    )
    .option(
      '--pod-concurrency <n>',
      'pod task runs supervised at once, apart from --concurrency (env PODLINE_POD_CONCURRENCY, default 256)',
      parseCount,
    )
    .option(
      '--runtime <runtime>',
      'where pod tasks run: kubernetes or process (env PODLINE_RUNTIME)',
      parseRuntime,
    )
    .option('--namespace <ns>', 'namespace of pod tasks (env PODLINE_NAMESPACE)')
    .option('--kube-context <context>', 'kubeconfig context (env PODLINE_KUBE_CONTEXT)')
    .option('--check', 'type-check the files first (as podline check); a type error starts nothing (exit 2)')
    .addHelpText(
      'after',
      '\nStart as many workers as you like against one DATABASE_URL. On SIGTERM or SIGINT a worker stops\nclaiming, lets running tasks finish (PODLINE_DRAIN_TIMEOUT_MS, default 60000), hands back the rest and exits 0.',
    )
    .action(async (files: string[], flags: WorkerFlags) => {
      process.exitCode = await work(files, flags)
    })
}

async function work(files: string[], flags: WorkerFlags): Promise<number> {
  const settings = await executionSettings(flags)
  const [
    { drainOnSignals, expandPatterns, startEngine, startTracing, timeAttempts },
    { formatDuration, installTaskFaultHandlers },
  ] = await Promise.all([import('@podline/host'), import('@podline/runner')])
  if (flags.check) await assertTypeChecks(await expandPatterns(files))
  const tracing = await startTracing('podline', warnOnStderr)
  // This process's fault handlers: a task's stray error fails that task, not the worker.
  installTaskFaultHandlers()
  const say = (line: string) => process.stdout.write(`${line}\n`)
  const engine = await startEngine({
    patterns: files,
    settings,
    log: (level, message, fields) => {
      // Task log lines are stored with the run (`podline logs`); here only the worker's own trouble.
      if ((level === 'warn' || level === 'error') && !fields?.task)
        process.stderr.write(`${level}: ${message}\n`)
    },
    onAttempt: timeAttempts((e) => {
      const head = `run ${e.runId} task ${e.task} attempt ${e.attempt}`
      if (e.type === 'started') say(`${head} started`)
      else {
        const took = e.durationMs === undefined ? '' : ` in ${formatDuration(e.durationMs)}`
        say(`${head} ${e.state}${took}${e.error ? `: ${escapeControl(firstLine(e.error))}` : ''}`)
      }
    }),
  })
  const names = engine.pipelines.map((l) => l.pipeline.name).join(', ')
  // Handlers first, announcement second: whoever waits for the line may signal at once.
  const stopped = drainOnSignals(engine, (s) =>
    say(`${s}: draining ${engine.worker.running} running task(s)`),
  )
  say(
    `worker ${engine.worker.id} started on ${engine.database.location}: ${names} (concurrency ${settings.concurrency})`,
  )
  const signal = await stopped
  say(`worker ${engine.worker.id} stopped (${signal})`)
  await tracing?.shutdown()
  return 0
}
