import type { Command } from 'commander'
import { checkParamsOrExplain } from '../check-params.js'
import { embeddedSchemaIsCurrent, rememberEmbeddedSchema } from '../embedded-schema-marker.js'
import { printJson } from '../format.js'
import { parseParams } from '../parse-params.js'
import { preloadEmbeddedDriver } from '../preload-embedded-driver.js'
import { createProgress } from '../progress.js'
import { executionSettings, parseCount, parseRuntime } from '../settings.js'

interface RunFlags {
  params?: string
  pipeline?: string
  runtime?: string
  concurrency?: number
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
    .addHelpText(
      'after',
      '\nUses the embedded store in .podline/ (PODLINE_DATA_DIR) unless DATABASE_URL is set.\nExit status: 0 when the run succeeds, 1 when a task fails, 2 for bad input.',
    )
    .action(async (file: string, flags: RunFlags) => {
      process.exitCode = await run(file, flags)
    })
}

async function run(file: string, flags: RunFlags): Promise<number> {
  const params = parseParams(flags.params)
  const settings = executionSettings(flags)
  // The runner (and the embedded driver) load before the pipeline file registers tsx: see preloadEmbeddedDriver.
  const [
    { runLocal, runStatus, openStore, TaskRunError, installTaskFaultHandlers },
    { choosePipeline, loadPipelineFile, timeAttempts },
  ] = await Promise.all([import('@podline/runner'), import('@podline/worker')])
  // This process's fault handlers: a task's stray error or process.exit() fails that task.
  installTaskFaultHandlers()
  if (!settings.databaseUrl) await preloadEmbeddedDriver()
  const pipeline = choosePipeline(await loadPipelineFile(file), flags.pipeline, file)
  // Checked before the store is opened: invalid params create nothing, not even an empty store.
  await checkParamsOrExplain(pipeline, params)

  const progress = createProgress(pipeline.tasks.map((t) => t.name))
  let runId: string | undefined
  let ended = false
  // Whatever ends the process before the run has ended (a process.exit() that escaped its task), it is no success.
  process.on('exit', (code) => {
    if (ended || code !== 0) return
    process.stderr.write(
      `\nthe process ended before run ${runId ?? '(not created)'} finished; it did not succeed\n`,
    )
    process.exitCode = 1
  })
  const skipMigration = !settings.databaseUrl && embeddedSchemaIsCurrent(settings.dataDir)
  try {
    const outputs = await runLocal(pipeline, params, {
      ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
      ...(settings.dataDir ? { dataDir: settings.dataDir } : {}),
      ...(skipMigration ? { migrate: false } : {}),
      ...settings.pods,
      ...(settings.xcomSizeLimitBytes ? { xcomSizeLimitBytes: settings.xcomSizeLimitBytes } : {}),
      concurrency: settings.concurrency,
      onRun: (id) => {
        runId = id
        if (!settings.databaseUrl && !skipMigration) rememberEmbeddedSchema(settings.dataDir)
      },
      onAttempt: timeAttempts((event) => progress.onAttempt(event)),
      log: (level, message, fields) => {
        // Task log lines are stored with the run (`podline logs`); only the runner's own trouble is shown.
        if ((level === 'warn' || level === 'error') && !fields?.task)
          process.stderr.write(`${level}: ${message}\n`)
      },
    })
    progress.finish(pipeline.tasks.map((t) => ({ task: t.name, state: 'success' })))
    // In the pipeline's order rather than the store's (jsonb sorts keys).
    const record = outputs as Record<string, unknown>
    printJson(
      Object.fromEntries(pipeline.tasks.filter((t) => t.name in record).map((t) => [t.name, record[t.name]])),
    )
    ended = true
    return 0
  } catch (error) {
    ended = true
    if (!(error instanceof TaskRunError) || !runId) throw error
    const store = await openStore({ ...settings, migrate: false })
    try {
      const status = await runStatus(store.database, runId)
      progress.finish(status?.tasks ?? [])
    } finally {
      await store.close()
    }
    process.stderr.write(
      `\nrun ${runId} of ${pipeline.name} failed: ${error.message}\n${error.stack ?? ''}\n`,
    )
    process.stderr.write(
      `\nSee it again with: podline status ${runId}   or   podline logs ${runId} ${error.task}\n`,
    )
    return 1
  }
}
