import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Leaves a file named `<task>.<attempt>.<pid>` in PODLINE_E2E_MARK_DIR: which worker process ran
 * which attempt, and what it saw. The workers run on this machine, so the test reads the folder.
 */
export function mark(task: string, attempt: number, value: string): void {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by the e2e suite for its workers only, no build reads it.
  const dir = process.env.PODLINE_E2E_MARK_DIR
  if (!dir) throw new Error('PODLINE_E2E_MARK_DIR is not set: the e2e suite sets it for its workers')
  writeFileSync(join(dir, `${task}.${attempt}.${process.pid}`), value)
}
