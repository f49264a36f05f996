import type { ContainerExit, ContainerProcess, OutputStream } from '@podline/container-process'
import type { ContainerJson, PodJson } from '../wire-types.js'

/** What a simulated container does in place of a process: how long it runs, what it prints, how it ends. */
export interface SimulatedContainer {
  /** How long it runs before it exits with `exitCode` (default 0 ms), or `'until-stopped'`: a server or sidecar. */
  readonly runMs?: number | 'until-stopped'
  /** Once `runMs` has passed, it also waits for this to settle before it exits: a gate a test opens. */
  readonly until?: Promise<unknown>
  /** Written to its log when it starts. */
  readonly output?: string
  /** Default 0. */
  readonly exitCode?: number
  /** Written when SIGTERM or SIGINT stops it, before it exits 0 (a sidecar's last words); without it the signal ends it. */
  readonly onStop?: () => string
  /** Told when it ends, however it ends. */
  readonly onExit?: () => void
  /** What it wrote to its terminationMessagePath, read when it ends (the terminated state's `message`). */
  readonly terminationMessage?: () => string
}

/**
 * The double's containers without processes, in the manner of KWOK: pods go through the same status
 * stages (scheduled, containers created, started, terminated) on the kubelet's schedule, and what
 * each container does is `simulate`'s answer. A startup probe passes at once; exec is not served.
 */
export interface ContainerSimulation {
  simulate(pod: PodJson, container: ContainerJson): SimulatedContainer
}

/** A ContainerProcess that is a timer: no fork, no memory but its closure. */
export function startSimulatedContainer(
  behaviour: SimulatedContainer,
  onOutput: (chunk: Buffer, stream: OutputStream) => void,
): ContainerProcess {
  let timer: NodeJS.Timeout | undefined
  let finish: (exit: ContainerExit) => void = () => {}
  let ended = false
  const exited = new Promise<ContainerExit>((resolve) => {
    finish = resolve
  })
  const end = (exit: ContainerExit): boolean => {
    if (ended) return false
    ended = true
    clearTimeout(timer)
    behaviour.onExit?.()
    finish(exit)
    return true
  }
  if (behaviour.output) onOutput(Buffer.from(behaviour.output), 'stdout')
  const runMs = behaviour.runMs ?? 0
  if (runMs !== 'until-stopped') {
    const exit = () => end({ exitCode: behaviour.exitCode ?? 0, signal: null, oomKilled: false })
    const until = behaviour.until
    timer = setTimeout(() => (until ? void until.finally(exit) : exit()), runMs)
  }
  return {
    pid: 0,
    bindMounted: false,
    stdin: null,
    exited,
    kill: (signal = 'SIGKILL') => end({ exitCode: null, signal, oomKilled: false }),
    signalMain: (signal) => {
      if (ended) return false
      if ((signal === 'SIGTERM' || signal === 'SIGINT') && behaviour.onStop) {
        onOutput(Buffer.from(behaviour.onStop()), 'stdout')
        return end({ exitCode: 0, signal: null, oomKilled: false })
      }
      return end({ exitCode: null, signal, oomKilled: false })
    },
  }
}
