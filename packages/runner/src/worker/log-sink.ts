import type { TaskLogger } from '@podline/sdk'
import type { Database } from '../store/database.js'
import { databaseErrorMessage, isPermanentDatabaseError } from '../store/database-error.js'
import { NO_MAP_INDEX, taskLogs } from '../store/schema.js'
import { traceIds } from '../tracing/tracing.js'
import type { LogLevel, WorkerLog } from '../worker-log.js'
import { escapeUnstorable, escapeUnstorableDeep } from './storable-text.js'
import { describeThrown } from './thrown-value.js'

/*
 * PostgreSQL takes at most 65,535 parameters in one statement and a log row binds 6, so one insert
 * carries at most 10,922 rows; a chunk of 5,000 leaves room should the row grow a column or two.
 */
const ROWS_PER_INSERT = 5000

interface Line {
  runId: string
  task: string
  mapIndex: number
  attempt: number
  level: LogLevel
  message: string
  fields: Record<string, unknown> | null
}

/**
 * Task log lines, stored with the run so `podline logs` shows them from any machine. Lines are
 * buffered and written in batches (one insert per flush, not one per line) off the task's path.
 */
export class LogSink {
  #buffer: Line[] = []
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly database: Database,
    private readonly workerLog: WorkerLog,
    private readonly flushMs = 200,
  ) {}

  /** `mapIndex`: the item of a mapped task the attempt runs (null or absent for a task's own row). */
  forTask(runId: string, task: string, attempt: number, mapIndex?: number | null): TaskLogger {
    // The attempt's span, active when its logger is made: each line names it (and its trace).
    const traced = traceIds()
    const write = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
      this.#buffer.push({
        runId,
        task,
        mapIndex: mapIndex ?? NO_MAP_INDEX,
        attempt,
        level,
        // A task's log is its prose: what PostgreSQL cannot store is escaped, the line kept.
        message: escapeUnstorable(String(message)),
        fields:
          fields === undefined && traced === undefined ? null : storableFields({ ...fields, ...traced }),
      })
      this.workerLog(level, `[${task}] ${message}`, { runId, task, attempt, ...fields, ...traced })
      this.#timer ??= setTimeout(() => void this.flush(), this.flushMs)
    }
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
  }

  /** Writes what is buffered; safe to call concurrently. */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const lines = this.#buffer
    this.#buffer = []
    this.#flushing = this.#flushing.then(async () => {
      for (let i = 0; i < lines.length; i += ROWS_PER_INSERT)
        await this.#insert(lines.slice(i, i + ROWS_PER_INSERT))
    })
    return this.#flushing
  }

  /** One insert per chunk; should a chunk fail, its lines go one by one so a bad one costs only itself. */
  async #insert(chunk: Line[]): Promise<void> {
    try {
      await this.database.db.insert(taskLogs).values(chunk)
      return
    } catch (error) {
      // Losing log lines must not fail a task; say so on the worker's own log instead. Only a line
      // the database refuses on its merits is worth isolating; in an outage every insert would fail.
      if (chunk.length === 1 || !isPermanentDatabaseError(error)) {
        const line = chunk[0]
        this.workerLog(
          'warn',
          `could not store ${chunk.length} log line(s) of task ${line?.task}: ${databaseErrorMessage(error)}`,
          { runId: line?.runId },
        )
        return
      }
    }
    for (const line of chunk) await this.#insert([line])
  }
}

/** Log fields as jsonb will take them: plain JSON, with unstorable text escaped. */
function storableFields(fields: Record<string, unknown>): Record<string, unknown> {
  try {
    return escapeUnstorableDeep(JSON.parse(JSON.stringify(fields))) as Record<string, unknown>
  } catch (error) {
    return { unserialisable: describeThrown(error) }
  }
}
