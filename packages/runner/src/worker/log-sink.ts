import type { TaskLogger } from '@podline/sdk'
import type { Database } from '../store/database.js'
import { taskLogs } from '../store/schema.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
/** Where a worker's own lines go (the CLI prints them, apps/worker writes pino JSON). */
export type WorkerLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void
export const silentLog: WorkerLog = () => {}

interface Line {
  runId: string
  task: string
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

  forTask(runId: string, task: string, attempt: number): TaskLogger {
    const write = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
      this.#buffer.push({ runId, task, attempt, level, message: String(message), fields: fields ?? null })
      this.workerLog(level, `[${task}] ${message}`, { runId, task, attempt, ...fields })
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
      if (lines.length === 0) return
      try {
        await this.database.db.insert(taskLogs).values(lines)
      } catch (error) {
        // Losing log lines must not fail a task; say so on the worker's own log instead.
        this.workerLog('warn', `could not store ${lines.length} task log lines: ${(error as Error).message}`)
      }
    })
    return this.#flushing
  }
}
