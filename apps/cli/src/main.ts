#!/usr/bin/env node
import { Command, CommanderError } from 'commander'
import { registerAssets } from './commands/assets.js'
import { registerBackfill } from './commands/backfill.js'
import { registerCancel } from './commands/cancel.js'
import { registerCheck } from './commands/check.js'
import { registerCodegen } from './commands/codegen.js'
import { registerLogs } from './commands/logs.js'
import { registerMigrate } from './commands/migrate.js'
import { registerPause } from './commands/pause.js'
import { registerPlan } from './commands/plan.js'
import { registerPools } from './commands/pools.js'
import { registerPrune } from './commands/prune.js'
import { registerRetry } from './commands/retry.js'
import { registerRun } from './commands/run.js'
import { registerRuns } from './commands/runs.js'
import { registerSchedules } from './commands/schedules.js'
import { registerSignal } from './commands/signal.js'
import { registerStatus } from './commands/status.js'
import { registerTrigger } from './commands/trigger.js'
import { registerUi } from './commands/ui.js'
import { registerWorker } from './commands/worker.js'
import { registerXcom } from './commands/xcom.js'
import { reportError } from './report-error.js'

// Every verb loads the runner (drizzle, the database drivers) and tsx lazily, inside its action,
// so `podline --help` and a mistyped flag answer at once.
const program = new Command('podline')
  .description('Typed data pipelines on PostgreSQL and Kubernetes.')
  .version('0.1.0')
  // Options after a verb are the verb's: `podline trigger etl --version v2` picks a pipeline version.
  .enablePositionalOptions()
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    '\nConfiguration: DATABASE_URL (else the embedded store in PODLINE_DATA_DIR, default .podline/),\nPODLINE_CONCURRENCY, PODLINE_POD_CONCURRENCY, PODLINE_DB_POOL_SIZE, PODLINE_COMPLETION_BATCH_MS, PODLINE_CLAIM_AHEAD, PODLINE_RUNTIME, PODLINE_NAMESPACE, PODLINE_KUBE_CONTEXT, PODLINE_SIDECAR_IMAGE,\nPODLINE_SIDECAR_MODE, PODLINE_XCOM_LIMIT_BYTES, PODLINE_XCOM_STORE, PODLINE_XCOM_OFFLOAD_BYTES, PODLINE_S3_ENDPOINT,\nPODLINE_DRAIN_TIMEOUT_MS, PODLINE_LEASE_MS, PODLINE_PRUNE_OLDER_THAN, PODLINE_UI_TOKEN (ui). Flags win over the environment.\nTraces (run, worker, trigger): OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER, and the other OTEL_* variables;\nPODLINE_TRACE_FLUSH_TIMEOUT_MS (2000) bounds the wait for the last spans when the process stops.\nExit status: 0 success, 1 the work failed, 2 bad input or configuration.',
  )

for (const register of [
  registerRun,
  registerWorker,
  registerTrigger,
  registerRuns,
  registerStatus,
  registerLogs,
  registerXcom,
  registerCancel,
  registerRetry,
  registerSignal,
  registerSchedules,
  registerPause,
  registerBackfill,
  registerPools,
  registerAssets,
  registerMigrate,
  registerPlan,
  registerCheck,
  registerCodegen,
  registerPrune,
  registerUi,
]) {
  register(program)
}

let code: number
try {
  await program.parseAsync()
  code = typeof process.exitCode === 'number' ? process.exitCode : 0
} catch (error) {
  // Commander has already printed its own usage errors; help and --version end here with code 0.
  code = error instanceof CommanderError ? (error.exitCode === 0 ? 0 : 2) : reportError(error)
}
// Exit now rather than wait for every handle (a pool, a timer) to close on its own, but only once
// what was written has left: on a pipe, stdout is asynchronous, and exiting drops what is queued
// past the pipe's 64 KiB buffer (`podline runs --json | jq` lost the end of the list).
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
process.exit(code)

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    // A reader that went away (`| head`) ends the wait with an error.
    stream.once('error', () => resolve()).once('close', resolve)
    // A write's callback runs once every earlier write has left, and the write keeps the process
    // alive until then. Not 'drain': it fires only after a write that filled the buffer, so waiting
    // for it on a smaller backlog left nothing pending, and Node.js ended the top-level await (13).
    stream.write('', () => resolve())
  })
}
