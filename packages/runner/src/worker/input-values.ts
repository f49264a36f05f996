import { computeInputValues } from '../engine/run-values.js'
import { expandItemManifests } from '../queue/mapped-tasks.js'
import { TASK_KEY_CHANNEL } from '../queue/sql-values.js'
import {
  awaitingInputValues,
  failOnInputValues,
  type InputValues,
  storeInputValues,
} from '../queue/task-values-from-inputs.js'
import type { Database } from '../store/database.js'
import { databaseErrorMessage } from '../store/database-error.js'
import type { WorkerLog } from '../worker-log.js'
import type { XComOffload } from '../xcom-store/xcom-offload.js'
import { resolveTaskInputs } from './attempt-offload.js'
import type { LoadedPipelines } from './loaded-pipelines.js'

/** How often a pass runs without a notification: a safety net for one lost with a dropped connection. */
const PASS_MS = 1000

export interface InputValuesOptions {
  database: Database
  pipelines: LoadedPipelines
  xcoms?: XComOffload
  workerId: string
  log: WorkerLog
}

/**
 * Computes the concurrency keys and priorities that read their task's inputs, for the pipelines
 * this worker has the code of: such a task run queues unclaimable (KEY_FROM_INPUTS) once its
 * upstream tasks have ended, and the first worker to pass stores its values and admits it. The
 * inputs are read as the task will receive them (items expanded, offloaded values read back from
 * the XCom store). A function that throws fails the task run with its message; an input that
 * cannot be read now (the store unreachable) is tried again at the next pass.
 */
export async function startInputValues(o: InputValuesOptions): Promise<{ stop(): Promise<void> }> {
  const names = new Set(
    o.pipelines.pipelines
      .filter((p) => p.tasks.some((t) => t.computed !== undefined && t.needs.length > 0))
      .map((p) => p.name),
  )
  if (names.size === 0) return { stop: async () => {} }
  let passing: Promise<void> | undefined
  let again = false
  const pass = (): void => {
    if (passing) {
      again = true
      return
    }
    passing = passInputValues(o, names)
      .catch((error: unknown) =>
        o.log('warn', `computing keys and priorities from inputs failed: ${databaseErrorMessage(error)}`),
      )
      .finally(() => {
        passing = undefined
        if (again) {
          again = false
          pass()
        }
      })
  }
  const timer = setInterval(pass, PASS_MS)
  const unlisten = await o.database.listen(TASK_KEY_CHANNEL, (pipeline) => {
    if (names.has(pipeline)) pass()
  })
  pass()
  return {
    async stop() {
      clearInterval(timer)
      await unlisten().catch(() => {})
      await passing
    },
  }
}

async function passInputValues(o: InputValuesOptions, names: ReadonlySet<string>): Promise<void> {
  for (const name of names) {
    const awaiting = await awaitingInputValues(o.database, name, o.pipelines.versions)
    const values: InputValues[] = []
    for (const row of awaiting) {
      const found = o.pipelines.task(row)
      if (!found) continue
      let inputs: Record<string, unknown>
      try {
        const stored = await expandItemManifests(o.database, row.runId, row.inputs)
        inputs = await resolveTaskInputs(o.xcoms, stored, found.mappedTasks)
      } catch (error) {
        o.log(
          'warn',
          `the inputs of task "${row.task}" of run ${row.runId} could not be read for its key: ${databaseErrorMessage(error)}; trying again`,
        )
        continue
      }
      try {
        const v = await computeInputValues(found.pipeline, found.def, row.params, inputs)
        values.push({ id: row.id, key: v.concurrencyKey ?? null, priority: v.priority ?? null })
      } catch (error) {
        await failOnInputValues(
          o.database,
          row,
          `${error instanceof Error ? error.message : String(error)}; the task cannot start`,
          o.workerId,
        )
      }
    }
    await storeInputValues(o.database, name, values)
  }
}
