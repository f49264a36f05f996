import { Writable } from 'node:stream'
import type { V1Status } from '@kubernetes/client-node'
import type { KubeClient } from './kube-client.js'

export interface PodExecResult {
  readonly exitCode: number
  readonly stdout: Buffer
  readonly stderr: string
}

/**
 * Runs a command in a container through the exec API (a websocket) and collects its output. The exit
 * code comes from the Status the API sends on the error channel; a closed socket without one is an error.
 */
export async function execInPod(
  kube: KubeClient,
  target: { namespace: string; pod: string; container: string },
  command: string[],
): Promise<PodExecResult> {
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        into.push(Buffer.from(chunk))
        callback()
      },
    })
  let status: V1Status | undefined
  const socket = await kube.exec.exec(
    target.namespace,
    target.pod,
    target.container,
    command,
    sink(stdout),
    sink(stderr),
    null,
    false,
    (s) => {
      status = s
    },
  )
  await new Promise<void>((resolve, reject) => {
    if (socket.readyState === socket.CLOSED) return resolve()
    socket.on('close', () => resolve())
    socket.on('error', (error: Error) => reject(error))
  })
  if (status === undefined) {
    throw new Error(
      `exec of ${command[0]} in ${target.namespace}/${target.pod}/${target.container} ended without an exit status`,
    )
  }
  return {
    exitCode: exitCodeOf(status),
    stdout: Buffer.concat(stdout),
    stderr: Buffer.concat(stderr).toString('utf8'),
  }
}

function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode')
  const code = Number(cause?.message)
  return Number.isInteger(code) ? code : 1
}
