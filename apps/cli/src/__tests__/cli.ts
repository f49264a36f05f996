import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Helpers for tests that run the built programs as real child processes. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
export const CLI = join(ROOT, 'apps/cli/dist/main.js')
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'podline-cli-'))
}

/** The environment of a child: this one's, without its DATABASE_URL unless given. */
export function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  delete base.DATABASE_URL
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete base[k]
    else base[k] = v
  }
  return base
}

export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<Result> {
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: childEnv(options.env ?? {}) })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stderr.on('data', (d) => {
    stderr += d
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

export function podline(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
) {
  return run(process.execPath, [CLI, ...args], options)
}

/** A long-running child whose output can be waited on. */
export interface Running {
  child: ChildProcess
  output(): string
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>
  exited: Promise<number | null>
}

export function start(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; program?: string } = {},
  command: string[] = [CLI],
): Running {
  // `program` runs something other than node (`script`, to give the CLI a terminal).
  const child = spawn(options.program ?? process.execPath, [...command, ...args], {
    cwd: options.cwd ?? ROOT,
    env: childEnv(options.env ?? {}),
  })
  let text = ''
  const waiters = new Set<() => void>()
  const onData = (d: Buffer) => {
    text += d
    for (const w of waiters) w()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(text)) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve()
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${text}`))
        }, timeoutMs)
        waiters.add(check)
        void exited.then(() => {
          if (!pattern.test(text)) {
            clearTimeout(timer)
            reject(new Error(`exited before ${pattern}; output:\n${text}`))
          }
        })
        check()
      })
    },
  }
}

export { waitUntil } from '@podline/runner/testing'

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
