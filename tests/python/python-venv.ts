import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's Python environment (scripts/python-env.sh, which `npm test` runs first). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const VENV_BIN = join(ROOT, '.venv', 'bin')

/** The environment of a child that runs through the venv: its bin folder first on PATH. */
export function venvEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  if (!existsSync(join(VENV_BIN, 'python')))
    throw new Error(`${VENV_BIN}/python is missing: run bash scripts/python-env.sh (npm test runs it first)`)
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${VENV_BIN}${delimiter}${process.env.PATH ?? ''}`,
    // mypy's cache in the venv, out of the source tree: a second run takes seconds, not a minute.
    MYPY_CACHE_DIR: join(ROOT, '.venv', 'mypy-cache'),
  }
  delete merged.PYTHONPATH
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key]
    else merged[key] = value
  }
  return merged
}

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  /** stdout and stderr together, in the order they came. */
  readonly output: string
}

/** Runs a command with the venv on PATH; killed at `timeoutMs`, which the output then says. */
export function runInVenv(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<Ran> {
  const timeoutMs = options.timeoutMs ?? 120_000
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: venvEnv(options.env) })
  let output = ''
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    output += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString()
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, output })
    })
  })
}
