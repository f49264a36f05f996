import type { ContainerExit, ContainerProcessSpec, OutputStream } from './container-spec.js'
import { startContainerProcess } from './start-container-process.js'

export interface ExecResult extends ContainerExit {
  readonly stdout: Buffer
  readonly stderr: Buffer
}

export interface ExecOptions {
  /** Written to the command's standard input, which is then closed. */
  readonly stdin?: string | Buffer
  readonly onOutput?: (chunk: Buffer, stream: OutputStream) => void
}

/**
 * Runs an extra command "in" a container, as `kubectl exec` does: same environment, working directory
 * and mounts as the container, but a command of its own. Resolves once it exits, with its output.
 *
 * @example
 * const { stdout } = await execInContainer(container, ['cat', '/airflow/xcom/return.json'])
 */
export async function execInContainer(
  container: Omit<ContainerProcessSpec, 'command' | 'onOutput' | 'stdin'>,
  command: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  const proc = await startContainerProcess({
    ...container,
    command,
    stdin: options.stdin !== undefined,
    onOutput: (chunk, stream) => {
      ;(stream === 'stdout' ? stdout : stderr).push(chunk)
      options.onOutput?.(chunk, stream)
    },
  })
  if (options.stdin !== undefined) proc.stdin?.end(options.stdin)
  const exit = await proc.exited
  return { ...exit, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }
}
