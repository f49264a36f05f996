import { spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { canBindMount } from './bind-mount-support.js'
import type { ContainerExit, ContainerProcess, ContainerProcessSpec } from './container-spec.js'
import { ContainerStartError } from './container-start-error.js'
import { mountNamespaceCommand } from './mount-namespace-command.js'
import { processGroupRssBytes } from './process-group-memory.js'
import { resolveExecutable } from './resolve-executable.js'

const MEMORY_POLL_MS = 100

/**
 * Starts a container's command as a local process in its own process group (so a signal reaches
 * everything it started), with its volumes bind-mounted where the machine allows it.
 *
 * @example
 * const proc = await startContainerProcess({ name: 'base', command: ['sh', '-c', 'echo hi'], env: {} })
 * const { exitCode } = await proc.exited
 */
export async function startContainerProcess(spec: ContainerProcessSpec): Promise<ContainerProcess> {
  const [executable, ...args] = spec.command
  if (!executable) throw new ContainerStartError(`container ${spec.name} has no command to run`, spec.name)
  const mounts = spec.mounts ?? []
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    ...spec.env,
  }
  if (!(await resolveExecutable(executable, env.PATH ?? '', spec.workingDir, mounts))) {
    const reason = executable.includes('/')
      ? `stat ${executable}: no such file or directory`
      : 'executable file not found in $PATH'
    throw new ContainerStartError(`exec: "${executable}": ${reason}`, spec.name)
  }
  const bindMounted = mounts.length > 0 && (await canBindMount())
  let argv: string[]
  let cwd: string | undefined
  if (bindMounted) {
    argv = mountNamespaceCommand(spec.command, mounts, spec.workingDir)
  } else {
    argv = [executable, ...args]
    cwd = spec.workingDir
    // The runtime creates a missing working directory rather than failing.
    if (cwd) await mkdir(cwd, { recursive: true })
  }
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd,
    env,
    detached: true,
    stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  })
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number))
    child.once('error', (error) =>
      reject(new ContainerStartError(`cannot start ${spec.name}: ${error.message}`, spec.name)),
    )
  })
  child.stdout?.on('data', (chunk: Buffer) => spec.onOutput?.(chunk, 'stdout'))
  child.stderr?.on('data', (chunk: Buffer) => spec.onOutput?.(chunk, 'stderr'))
  // A client that stops reading (exec stdin closed early) must not crash the host with EPIPE.
  child.stdin?.on('error', () => {})

  const killGroup = (signal: NodeJS.Signals): boolean => {
    try {
      process.kill(-pid, signal)
      return true
    } catch {
      return false
    }
  }

  let oomKilled = false
  let running = true
  const watchMemory = async (limit: number): Promise<void> => {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, MEMORY_POLL_MS))
      if (running && (await processGroupRssBytes(pid)) > limit) {
        oomKilled = true
        killGroup('SIGKILL')
        return
      }
    }
  }
  if (spec.memoryLimitBytes !== undefined) void watchMemory(spec.memoryLimitBytes)

  const exited = new Promise<ContainerExit>((resolve) => {
    let status: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined
    child.once('exit', (exitCode, signal) => {
      running = false
      status = { exitCode, signal }
      // PID 1 is gone: the runtime tears down whatever else the container started.
      killGroup('SIGKILL')
    })
    child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      running = false
      const final = status ?? { exitCode, signal }
      resolve({ ...final, oomKilled })
    })
  })

  return {
    pid,
    bindMounted,
    stdin: child.stdin,
    exited,
    kill: (signal = 'SIGTERM') => running && killGroup(signal),
    signalMain: (signal) => running && child.kill(signal),
  }
}
