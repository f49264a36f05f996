import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
export const CLI = join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js')
export const cliBuilt = existsSync(CLI)

/** A `podline worker` process and what it printed. */
export interface WorkerProcess {
  child: ChildProcess
  output: () => string
  /** SIGTERM (drain) and wait for the exit. */
  stop(): Promise<void>
}

/** Starts `podline worker <file> --concurrency N` and resolves once it says it started. */
export async function startWorker(
  file: string,
  concurrency: number,
  env: NodeJS.ProcessEnv,
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', file, '--concurrency', String(concurrency)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d))
  child.stderr?.on('data', (d: Buffer) => (output += d))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 60 s:\n${output}`)), 60_000)
    const check = () => {
      if (/^worker \S+ started/m.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on('data', check)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`worker exited (${code}) before it started:\n${output}`))
    })
  })
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** What `podline trigger … --wait --json` prints. */
export interface TriggerResult {
  runId: string
  state: string
}

/** `podline trigger <pipeline> --params <json> --wait --json`: resolves when the run ended. */
export async function triggerAndWait(pipeline: string, env: NodeJS.ProcessEnv): Promise<TriggerResult> {
  const run = promisify(execFile)
  const args = [CLI, 'trigger', pipeline, '--params', '{}', '--wait', '--json']
  const { stdout } = await run(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
  }).catch(
    // Exit 1 means the run ended but did not succeed: its JSON is still the answer.
    (error: { stdout?: string; stderr?: string }) => {
      if (error.stdout?.trim()) return { stdout: error.stdout }
      throw new Error(`podline trigger ${pipeline} failed: ${error.stderr ?? error}`)
    },
  )
  // With --json the output is one JSON document (pretty-printed over several lines).
  return JSON.parse(stdout) as TriggerResult
}

export async function migrate(databaseUrl: string): Promise<void> {
  await promisify(execFile)(process.execPath, [CLI, 'migrate'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
  })
}
