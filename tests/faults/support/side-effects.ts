import { existsSync, readFileSync } from 'node:fs'

export interface SideEffect {
  runId: string
  task: string
  attempt: number
  /**
   * Which call of the task function it came from (one attempt may run more than once: takeovers),
   * or 'pod' for a line the pod wrote itself.
   */
  execution: string
  what: string
}

/** The lines the fixture tasks appended (see fixtures/pipelines.ts). */
export function readSideEffects(file: string): SideEffect[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const fields = line.split(' ')
      // A pod writes `<runId> <task> <attempt> pod:<name>`; the task functions add their execution.
      const [runId, task, attempt, execution, what] =
        fields.length === 4 ? [...fields.slice(0, 3), 'pod', fields[3]] : fields
      if (!runId || !task || !attempt || !execution || !what)
        throw new Error(`a torn side-effect line: "${line}"`)
      return { runId, task, attempt: Number(attempt), execution, what }
    })
}
