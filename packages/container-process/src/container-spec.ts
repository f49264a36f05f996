import type { Writable } from 'node:stream'

/** A host folder made visible to the process at `containerPath` (a volumeMount of an emptyDir, say). */
export interface VolumeMount {
  readonly hostPath: string
  readonly containerPath: string
  readonly readOnly?: boolean
}

export type OutputStream = 'stdout' | 'stderr'

/** One container to run as a local process. The image is not part of it: the command runs on the host. */
export interface ContainerProcessSpec {
  /** The container's name, used in error messages. */
  readonly name: string
  /** The executable and its arguments (Kubernetes' `command` followed by `args`). */
  readonly command: readonly string[]
  /** The container's environment. The host's PATH is added unless set here; nothing else is inherited. */
  readonly env: Readonly<Record<string, string>>
  readonly workingDir?: string
  /**
   * Bind-mounted in a private mount namespace where `canBindMount()` is true; elsewhere ignored, and
   * callers pass host paths through the environment instead.
   */
  readonly mounts?: readonly VolumeMount[]
  /** SIGKILL the process group once its resident memory exceeds this many bytes (reported as `oomKilled`). */
  readonly memoryLimitBytes?: number
  /** Open a pipe to the process's standard input (closed otherwise). */
  readonly stdin?: boolean
  /** Receives output as it arrives, in order per stream. */
  readonly onOutput?: (chunk: Buffer, stream: OutputStream) => void
}

export interface ContainerExit {
  /** The exit code, or null when a signal ended the process. */
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  /** True when the memory limit was exceeded and the process group was killed for it. */
  readonly oomKilled: boolean
}

/** A running container process. */
export interface ContainerProcess {
  readonly pid: number
  /** Whether the volumes really are mounted at their container paths. */
  readonly bindMounted: boolean
  /** The process's standard input when `stdin: true` was asked for. */
  readonly stdin: Writable | null
  /**
   * Settles once the main process has exited, the rest of its process group has been killed (as a
   * container runtime does when PID 1 exits) and its output has been delivered.
   */
  readonly exited: Promise<ContainerExit>
  /** Signals the whole process group. Returns false when nothing was left to signal. */
  kill(signal?: NodeJS.Signals): boolean
  /**
   * Signals the main process only, as a container runtime delivers the stop signal to PID 1 and leaves
   * it to the process to pass it on. Returns false when it had already exited.
   */
  signalMain(signal: NodeJS.Signals): boolean
}
