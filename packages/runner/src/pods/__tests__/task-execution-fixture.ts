import { randomUUID } from 'node:crypto'
import type { JsonValue, TaskLogger } from '@podline/sdk'
import type { TaskExecution } from '../../executors/task-execution.js'

/** A TaskExecution as the worker would hand it over, recording what the executor does with it. */
export interface ExecutionFixture {
  readonly exec: TaskExecution
  readonly controller: AbortController
  /** putXcom calls, in order. */
  readonly xcoms: Array<{ key: string; value: JsonValue }>
  /** Every log line, `level message`. */
  readonly lines: string[]
  /** Runs what the executor left for after the outcome is stored, as the worker does then. */
  recorded(): Promise<void>
}

/** The store of fixtures that name none. */
export const FIXTURE_STORE = randomUUID()

export function executionFixture(
  options: {
    task?: string
    storeId?: string
    runId?: string
    attempt?: number
    pipeline?: string
    resumed?: boolean
    onPutXcom?: (key: string) => void
  } = {},
): ExecutionFixture {
  const controller = new AbortController()
  const xcoms: ExecutionFixture['xcoms'] = []
  const lines: string[] = []
  const afterRecorded: Array<() => Promise<void>> = []
  const record =
    (level: string) =>
    (message: string): void => {
      lines.push(`${level} ${message}`)
    }
  const log: TaskLogger = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  }
  const task = options.task ?? 'work'
  const runId = options.runId ?? randomUUID()
  const attempt = options.attempt ?? 1
  const pipeline = options.pipeline ?? 'pods-test'
  const exec: TaskExecution = {
    storeId: options.storeId ?? FIXTURE_STORE,
    pipeline,
    pipelineVersion: 'v1',
    runId,
    taskRunId: `${runId}/${task}`,
    task,
    attempt,
    ...(options.resumed ? { resumed: true } : {}),
    inputs: {},
    ctx: { params: {}, assets: {}, signal: controller.signal, runId, attempt, pipeline, task, log },
    async putXcom(key, value) {
      options.onPutXcom?.(key)
      xcoms.push({ key, value })
    },
    afterRecorded(cleanup) {
      afterRecorded.push(cleanup)
    },
  }
  const recorded = async () => {
    for (const cleanup of afterRecorded.splice(0)) await cleanup()
  }
  return { exec, controller, xcoms, lines, recorded }
}
