import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { System } from './graphile-peer.js'

const PROGRAM = fileURLToPath(new URL('./worker-process.ts', import.meta.url))

export interface WorkerStats {
  /** Epoch ms of the first task start and the last task end in that process. */
  first: number
  last: number
  count: number
  peakRssMb: number
}

export interface WorkerGroup {
  /** SIGTERM to each, then their stats. */
  stop(): Promise<WorkerStats[]>
}

/** Starts `n` worker processes (worker-process.ts) and resolves once each is ready. */
export async function spawnWorkers(
  n: number,
  env: { KIND: System; DATABASE_URL: string; CONCURRENCY: string; BENCH_POOL?: string },
): Promise<WorkerGroup> {
  const children = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', PROGRAM], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const lines: unknown[] = []
    const waiters: Array<() => void> = []
    let buffered = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        lines.push(JSON.parse(buffered.slice(0, i)))
        buffered = buffered.slice(i + 1)
        for (const w of waiters.splice(0)) w()
      }
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const nextLine = async (index: number) => {
      while (lines.length <= index) {
        const more = new Promise<void>((resolve) => waiters.push(resolve))
        await Promise.race([more, exited])
        if (lines.length <= index && child.exitCode !== null)
          throw new Error(`benchmark worker ${child.pid} exited with ${child.exitCode}`)
      }
      return lines[index]
    }
    return { child, nextLine, exited }
  })
  await Promise.all(children.map((c) => c.nextLine(0)))
  return {
    async stop() {
      for (const c of children) c.child.kill('SIGTERM')
      const stats = await Promise.all(children.map((c) => c.nextLine(1) as Promise<WorkerStats>))
      await Promise.all(children.map((c) => c.exited))
      return stats
    },
  }
}

/** Wall time from the first task start to the last task end across processes. */
export function spanMs(stats: readonly WorkerStats[]): number {
  const ran = stats.filter((s) => s.count > 0)
  return Math.max(...ran.map((s) => s.last)) - Math.min(...ran.map((s) => s.first))
}
