import { constants } from 'node:os'
import type { ContainerExit } from './container-spec.js'

/** The exit code a container runtime reports: the process's code, or 128 + the signal number. */
export function exitCodeOf(exit: Pick<ContainerExit, 'exitCode' | 'signal'>): number {
  if (exit.exitCode !== null) return exit.exitCode
  const signalNumber = exit.signal ? constants.signals[exit.signal] : undefined
  return 128 + (signalNumber ?? 9)
}
