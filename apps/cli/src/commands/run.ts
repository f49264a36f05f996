import { constants } from 'node:os'
import type { Command } from 'commander'
import { absorbedFailureLines } from '../absorbed-failures.js'
import { checkParamsOrExplain } from '../check-params.js'
import { printJson } from '../format.js'
import { type LocalUi, parseUiPort, startLocalUi } from '../local-ui.js'
import { killedRunNotice } from '../open-store.js'
import { parseParams } from '../parse-params.js'
import { preloadEmbeddedDriver } from '../preload-embedded-driver.js'
import type { ProgressEvent } from '../progress.js'
import { warnOnStderr } from '../report-error.js'
import { executionSettings, parseCount, parseRuntime } from '../settings.js'
import { terminalText } from '../terminal-text.js'
import { assertTypeChecks } from '../type-check.js'

/** A stack frame in Podline's own packages, from the repository or installed. */
const PODLINE_FRAME = /[/\\](?:packages[/\\]|@podline[/\\])(?:runner|sdk)[/\\]/

interface RunFlags {
  params?: string
  pipeline?: string
  runtime?: 'kubernetes' | 'process'
  concurrency?: number
  raw?: boolean
  check?: boolean
  /** `--ui` alone: true (port 7070); `--ui <port>`: that port. */
  ui?: boolean | number
  /** false with --no-cache. */
  cache?: boolean
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a pipeline file once, in this process, and print every task output as JSON')
    .argument('<file>', 'a TypeScript or JavaScript file exporting a pipeline')
    .option('--params <json>', 'the run parameters as a JSON object')
    .option('--pipeline <name>', 'which pipeline, when the file exports several')
    .option(
      '--runtime <runtime>',
      'where pod tasks run: kubernetes or process (env PODLINE_RUNTIME)',
      parseRuntime,
    )
    .option('--concurrency <n>', 'tasks run at once (env PODLINE_CONCURRENCY, default 4)', parseCount)
    .option('--raw', "print control characters in tasks' errors as they are instead of escaped")
    .option('--check', 'type-check the file first (as podline check); a type error runs nothing (exit 2)')
    .option(
      '--no-cache',
      'run every task with a cache instead of taking its cached output (each success still refreshes its entry)',
    )
    .option(
      '--ui [port]',
      'serve the web UI for this run (default port 7070), and keep it up after the run until Ctrl-C',
      parseUiPort,
    )
    .addHelpText(
      'after',
      '\nUses the embedded store in .podline/ (PODLINE_DATA_DIR) unless DATABASE_URL is set.\nCtrl-C (SIGINT) or SIGTERM cancels the run: its tasks are stopped and its pods deleted; a second one exits at once.\nExit status: 0 when the run succeeds, 1 when a task fails, 2 for bad input, 130 when interrupted.',
    )
    .action(async (file: string, flags: RunFlags) => {
      process.exitCode = await run(file, flags)
    })
}

async function run(file: string, flags: RunFlags): Promise<number> {
  const params = parseParams(flags.params)
  const settings = await executionSettings(flags)
  if (flags.check) await assertTypeChecks([file])
  const safe = terminalText(flags.raw)
  // The runner (and the embedded driver) load before the pipeline file registers tsx: see preloadEmbeddedDriver.
  const [runner, { choosePipeline, loadPipelineFile, startTracing, timeAttempts }, { createProgress }] =
    await Promise.all([import('@podline/runner'), import('@podline/host'), import('../progress.js')])
  const {
    runLocal,
    runStatus,
    openStore,
    failKilledLocalRun,
    installTaskFaultHandlers,
    RunCancelledError,
    TaskRunError,
  } = runner
  // This process's fault handlers: a task's stray error or process.exit() fails that task.
  installTaskFaultHandlers()
  const tracing = await startTracing('podline', warnOnStderr)
  if (!settings.databaseUrl) await preloadEmbeddedDriver()
  const pipeline = choosePipeline(await loadPipelineFile(file), flags.pipeline, file)
  // Checked before the store is opened: invalid params create nothing, not even an empty store.
  await checkParamsOrExplain(pipeline, params)

  // Migrating a current store costs two small queries (the store reads its schema state first).
  const store = await openStore({
    ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
    ...(settings.dataDir ? { dataDir: settings.dataDir } : {}),
    poolSize: settings.poolSize,
  })
  const { database } = store
  let ui: LocalUi | undefined
  if (flags.ui !== undefined && flags.ui !== false) {
    ui = await startLocalUi(database, flags.ui === true ? 7070 : flags.ui)
    process.stderr.write(`podline ui: ${ui.url}\n`)
  }
  const progress = createProgress(
    pipeline.tasks.map((t) => t.name),
    safe,
  )
  let runId: string | undefined

  // The first SIGINT (Ctrl-C) or SIGTERM cancels the run and waits for its tasks to stop; a second
  // one gives up waiting. Without these handlers Node would exit at once and leave the run
  // `running` and a process-runtime pod's processes alive.
  const interrupt = new AbortController()
  let received: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      process.stderr.write(`\npodline: ${signal} again: exiting without waiting for the run to stop\n`)
      process.exit(128 + constants.signals[signal])
    }
    received = signal
    process.stderr.write(
      `\npodline: ${signal}: cancelling run ${runId ?? '(not created yet)'}: stopping its tasks and deleting its pods (${signal} again exits at once)\n`,
    )
    interrupt.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  // Events are shown in order; a retry first looks up when the next attempt is due.
  let shown = Promise.resolve()
  const show = (event: ProgressEvent) => {
    shown = shown.then(async () => {
      if (event.type === 'finished' && event.state === 'up_for_retry') {
        const ms = await runner.retryDueInMs(database, event)
        if (ms !== undefined) event = { ...event, retryInMs: ms }
      }
      progress.onAttempt(event)
    })
    shown = shown.catch(() => {})
  }
  const finish = async (id: string) => {
    await shown
    const status = await runStatus(database, id)
    progress.finish(status?.tasks ?? [])
    return status
  }

  let ended = false
  // Whatever ends the process before the run has ended (a process.exit() that escaped its task), it is no success.
  process.on('exit', (code) => {
    if (ended || code !== 0) return
    process.stderr.write(
      `\nthe process ended before run ${runId ?? '(not created)'} finished; it did not succeed\n`,
    )
    process.exitCode = 1
  })
  try {
    const killed = await failKilledLocalRun(database)
    if (killed) process.stderr.write(killedRunNotice(killed))
    const outputs = await runLocal(pipeline, params, {
      database,
      ...settings.pods,
      ...(settings.xcomSizeLimitBytes ? { xcomSizeLimitBytes: settings.xcomSizeLimitBytes } : {}),
      ...settings.xcoms,
      leaseMs: settings.leaseMs,
      concurrency: settings.concurrency,
      podConcurrency: settings.podConcurrency,
      signal: interrupt.signal,
      ...(flags.cache === false ? { cache: false } : {}),
      onRun: (id) => {
        runId = id
      },
      onAttempt: timeAttempts(show),
      log: (level, message, fields) => {
        // Task log lines are stored with the run (`podline logs`); only the runner's own trouble is shown.
        if ((level === 'warn' || level === 'error') && !fields?.task)
          process.stderr.write(`${level}: ${safe(message)}\n`)
      },
    })
    const status = runId ? await finish(runId) : undefined
    const absorbed = status ? absorbedFailureLines(status, safe) : []
    if (absorbed.length > 0) process.stderr.write(`\n${absorbed.join('\n')}\n`)
    // In the pipeline's order rather than the store's (jsonb sorts keys).
    const record = outputs as Record<string, unknown>
    printJson(
      Object.fromEntries(pipeline.tasks.filter((t) => t.name in record).map((t) => [t.name, record[t.name]])),
    )
    ended = true
    return 0
  } catch (error) {
    ended = true
    if (error instanceof RunCancelledError) {
      await finish(error.runId)
      if (received) {
        process.stderr.write(
          `\nrun ${error.runId} of ${pipeline.name} cancelled (${received}): its tasks were stopped\n`,
        )
        return 128 + constants.signals[received]
      }
      process.stderr.write(`\nrun ${error.runId} of ${pipeline.name} was cancelled (podline cancel)\n`)
      return 1
    }
    if (!(error instanceof TaskRunError)) throw error
    await finish(error.runId)
    // The stack's first line is the message again: only its frames follow the message, and only
    // those in the user's code: Podline's own (a missing kubeconfig, a refused pod) say nothing the
    // message does not.
    const frames = (error.stack ?? '')
      .split('\n')
      .filter((line) => /^\s+at /.test(line) && !PODLINE_FRAME.test(line) && !/\(node:|at node:/.test(line))
    process.stderr.write(
      `\nrun ${error.runId} of ${pipeline.name} failed: ${safe(error.message)}\n${frames.map(safe).join('\n')}\n`,
    )
    process.stderr.write(
      `\nSee it again with: podline status ${error.runId}   or   podline logs ${error.runId} ${error.task}\n`,
    )
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await ui?.stayUp()
    await store.close()
    await tracing?.shutdown()
  }
}
