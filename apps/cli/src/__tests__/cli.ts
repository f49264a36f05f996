import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitUntil } from '@podline/runner/testing'
import { type FreshDatabase, useFreshDatabase } from '@podline/runner/testing/vitest'
import postgres from 'postgres'
import { afterAll, beforeAll } from 'vitest'

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

export { waitUntil }

/**
 * `podline run <file> --pipeline <pipeline>` of a pipeline whose task writes the file its
 * `readyFile` param names once it runs; resolves once that file is there (the run holds its store
 * and its task is running). A run that never gets there is killed before the wait fails.
 */
export async function startRunning(
  file: string,
  pipeline: string,
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<Running> {
  const readyFile = join(tempDir(), 'ready')
  const running = start(
    ['run', file, '--pipeline', pipeline, '--params', JSON.stringify({ readyFile })],
    options,
  )
  try {
    await waitUntil(`the task of ${pipeline} to start`, () => existsSync(readyFile))
  } catch (error) {
    running.child.kill('SIGKILL')
    await running.exited
    throw error
  }
  return running
}

export interface CliDatabase extends FreshDatabase {
  /** A client of one connection to look into the database with. */
  readonly sql: postgres.Sql
}

/**
 * vitest hooks: a fresh database of its own for the CLI to work on (`env` names it to a child), and
 * a client to look into it with; both made before the tests and dropped after them.
 */
export function useCliDatabase(): CliDatabase {
  const fresh = useFreshDatabase()
  let client: postgres.Sql | undefined
  beforeAll(() => {
    client = postgres(fresh.url, { max: 1, onnotice: () => {} })
  })
  // Registered after the database's own: vitest runs it first, so the client ends before the drop.
  afterAll(async () => {
    await client?.end()
  })
  return {
    get url() {
      return fresh.url
    },
    get database() {
      return fresh.database
    },
    get env() {
      return fresh.env
    },
    get sql() {
      if (!client) throw new Error('the CLI database is not open: read it inside a test or a hook')
      return client
    },
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
