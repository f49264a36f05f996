import { type ChildProcess, spawn } from 'node:child_process'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'

const FIXTURE = fileURLToPath(new URL('../fixtures/worker.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

/** What a fixture worker prints: its attempt events, and `ready` once it claims. */
export interface WorkerLine {
  type: 'ready' | 'started' | 'finished' | 'stopped'
  runId?: string
  task?: string
  /** The item of a mapped task the attempt runs. */
  mapIndex?: number
  attempt?: number
  state?: string
  id?: string
}

/** A fixture running as a child process that prints one JSON object a line on stdout. */
export interface LineProcess<L> {
  readonly child: ChildProcess
  readonly lines: L[]
  /** Resolves with the first line (already printed or to come) that matches. */
  until(match: (line: L) => boolean, timeoutMs?: number): Promise<L>
  kill(signal: NodeJS.Signals): void
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>
  readonly exited: Promise<number | null>
  stderr(): string
}

export type WorkerProcess = LineProcess<WorkerLine>

/**
 * Starts tests/faults/fixtures/worker.ts as a real child process on the sources (tsx and the
 * `@podline/source` condition), with the given environment on top of this one's.
 */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  return spawnLineProcess<WorkerLine>(FIXTURE, env)
}

/**
 * Starts the TypeScript file `fixture` as a real child process on the sources (tsx and the
 * `@podline/source` condition), with the given environment on top of this one's, and collects the
 * JSON lines it prints: the one harness of the worker fixtures of the fault and hostile suites.
 */
export function spawnLineProcess<L>(fixture: string, env: Record<string, string>): LineProcess<L> {
  const child = spawn(process.execPath, ['--conditions=@podline/source', '--import', 'tsx', fixture], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const name = `${basename(fixture)} (pid ${child.pid})`
  const lines: L[] = []
  const waiters = new Set<{ match: (l: L) => boolean; resolve: (l: L) => void }>()
  let err = ''
  let buffered = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const text = buffered.slice(0, i)
      buffered = buffered.slice(i + 1)
      let line: L
      try {
        line = JSON.parse(text) as L
      } catch {
        continue
      }
      lines.push(line)
      for (const w of waiters) if (w.match(line)) w.resolve(line)
    }
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err = (err + chunk).slice(-20_000)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    lines,
    exited,
    stderr: () => err,
    until(match, timeoutMs = 30_000) {
      const seen = lines.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (l: L) => {
            clearTimeout(timer)
            waiters.delete(waiter)
            resolve(l)
          },
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`${name}: no matching line within ${timeoutMs} ms; stderr: ${err}`))
        }, timeoutMs)
        waiters.add(waiter)
        void exited.then((code) => {
          if (!waiters.has(waiter)) return
          clearTimeout(timer)
          waiters.delete(waiter)
          reject(new Error(`${name} exited (${code}) before the line came; stderr: ${err}`))
        })
      })
    },
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    async stop(graceMs = 8000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}
