import type { AttemptEvent, Database, Store, Worker, WorkerLog } from '@podline/runner'
import type { ExecutionSettings } from '@podline/runner/config'
import { type LoadedPipeline, loadPipelines } from './load-pipelines.js'
import { SchemaNotReadyError } from './schema-not-ready-error.js'

export interface EngineOptions {
  /** Pipeline files and globs, relative to `cwd`. */
  patterns: readonly string[]
  cwd?: string
  /** The store, the worker's limits, its pods and XComs: what the environment and the flags say. */
  settings: ExecutionSettings
  log?: WorkerLog
  onAttempt?: (event: AttemptEvent) => void
  onClaim?: (event: { count: number; durationMs: number }) => void
}

export type EngineState = 'running' | 'draining' | 'stopped'

/** A started worker over its store and the pipelines it loaded; what `podline worker` and apps/worker run. */
export interface Engine {
  readonly worker: Worker
  readonly database: Database
  readonly pipelines: readonly LoadedPipeline[]
  readonly state: EngineState
  /** Stops claiming, lets held attempts finish (up to `drainMs`, then releases them), closes the store. Idempotent. */
  stop(): Promise<void>
}

/**
 * Loads the pipeline files, opens the store, checks its schema and starts a worker. Files are loaded
 * before the store is opened so a bad file fails fast without touching the database.
 */
export async function startEngine(options: EngineOptions): Promise<Engine> {
  // The runner loads before the files register tsx's hooks, which would otherwise route each of its
  // modules through tsx's loader thread.
  const runner = await import('@podline/runner')
  const pipelines = await loadPipelines(options.patterns, options.cwd)
  const { settings } = options
  const store = await runner.openStore({
    migrate: false,
    ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
    ...(settings.dataDir ? { dataDir: settings.dataDir } : {}),
    poolSize: settings.poolSize,
  })
  const cleanup: Array<() => Promise<void>> = [() => store.close()]
  try {
    await ensureSchema(store)
    const hasPods = pipelines.some((l) => l.pipeline.tasks.some((t) => t.kind === 'pod'))
    const limit = settings.xcomSizeLimitBytes ? { xcomSizeLimitBytes: settings.xcomSizeLimitBytes } : {}
    const pods = hasPods ? await runner.createPodRuntime({ ...settings.pods, ...limit }) : undefined
    const xcoms = await runner.openXComStorage(settings.xcoms, store.database)
    if (xcoms) store.onClose(() => xcoms.store.close())
    const worker = new runner.Worker({
      database: store.database,
      pipelines: pipelines.map((l) => l.pipeline),
      concurrency: settings.concurrency,
      podConcurrency: settings.podConcurrency,
      ...settings.batching,
      leaseMs: settings.leaseMs,
      ...(pods ? { pods } : {}),
      ...(xcoms ? { xcoms } : {}),
      ...limit,
      ...(settings.pruneOlderThanMs === undefined ? {} : { pruneOlderThanMs: settings.pruneOlderThanMs }),
      ...(options.log ? { log: options.log } : {}),
      ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
      ...(options.onClaim ? { onClaim: options.onClaim } : {}),
    })
    await worker.start()
    return createEngine(worker, store, pipelines, settings.drainMs)
  } catch (error) {
    for (const fn of cleanup.reverse()) await fn().catch(() => {})
    throw error
  }
}

async function ensureSchema(store: Store): Promise<void> {
  const { database } = store
  const state = await database.schemaState()
  if (state === 'current') return
  // The embedded store belongs to this process alone, so it migrates itself; a shared PostgreSQL is
  // migrated on purpose, once, by an operator or a deploy job.
  if (database.driver === 'pglite') return database.migrate()
  throw new SchemaNotReadyError(
    state === 'missing'
      ? `the database at ${database.location} has no Podline schema. Create it with \`podline migrate\` (same DATABASE_URL), then start the worker again.`
      : `the database at ${database.location} has an older Podline schema than this worker expects. Apply the new migrations with \`podline migrate\`, then start the worker again.`,
  )
}

function createEngine(worker: Worker, store: Store, pipelines: LoadedPipeline[], drainMs: number): Engine {
  let state: EngineState = 'running'
  let stopping: Promise<void> | undefined
  return {
    worker,
    database: store.database,
    pipelines,
    get state() {
      return state
    },
    stop() {
      stopping ??= (async () => {
        state = 'draining'
        try {
          await worker.stop({ drainMs })
        } finally {
          await store.close()
          state = 'stopped'
        }
      })()
      return stopping
    },
  }
}

/**
 * Drains the engine on the first SIGTERM or SIGINT and resolves with that signal once it has
 * stopped; a second signal during the drain gives up on it and exits 1 at once.
 */
export function drainOnSignals(
  engine: Engine,
  onSignal?: (signal: NodeJS.Signals) => void,
): Promise<NodeJS.Signals> {
  return new Promise((resolve, reject) => {
    let received: NodeJS.Signals | undefined
    const handle = (signal: NodeJS.Signals) => {
      if (received) process.exit(1)
      received = signal
      onSignal?.(signal)
      engine.stop().then(() => resolve(signal), reject)
    }
    process.on('SIGTERM', handle)
    process.on('SIGINT', handle)
  })
}
