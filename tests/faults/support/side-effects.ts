import { existsSync, readFileSync } from 'node:fs'

export interface SideEffect {
  runId: string
  task: string
  attempt: number
  /** The worker process that ran it: one attempt may run on several (takeovers). */
  pid: number
  what: string
}

/** The lines the fixture tasks appended (see fixtures/pipelines.ts). */
export function readSideEffects(file: string): SideEffect[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const [runId, task, attempt, pid, what] = line.split(' ')
      if (!runId || !task || !attempt || !pid || !what) throw new Error(`a torn side-effect line: "${line}"`)
      return { runId, task, attempt: Number(attempt), pid: Number(pid), what }
    })
}
