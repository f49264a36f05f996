import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { ContainerStartError, exitCodeOf, startContainerProcess } from '@podline/container-process'
import type { WebSocket, WebSocketServer } from 'ws'
import { ApiError, statuses } from '../api/api-error.js'
import type { StatusJson } from '../wire-types.js'
import type { DoubleContext } from './double-context.js'
import type { Route } from './parse-route.js'
import { routePod } from './route-handler.js'

/** The channel protocol client-node's Exec speaks (stream number as the first byte of each message). */
export const EXEC_PROTOCOL = 'v4.channel.k8s.io'
const STDIN = 0
const STDOUT = 1
const STDERR = 2
const ERROR = 3

/** Checks an exec request before the upgrade, with the API server's errors; returns what to run. */
export function prepareExec(ctx: DoubleContext, route: Route) {
  const { name, pod } = routePod(ctx, route)
  if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') {
    throw new ApiError(
      statuses.badRequest(
        `cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`,
      ),
    )
  }
  const names = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].map((c) => c.name)
  const container = route.query.get('container') ?? pod.spec.containers[0]?.name ?? ''
  if (!names.includes(container)) {
    throw new ApiError(statuses.badRequest(`container ${container} is not valid for pod ${name}`))
  }
  const worker = ctx.kubelet.worker(route.namespace, name)
  const spec = worker?.processSpecs.get(container)
  const running = worker?.logs.get(container)?.ended === false
  if (!spec || !running)
    throw new ApiError(
      statuses.badRequest(`unable to upgrade connection: container not found ("${container}")`),
    )
  const command = route.query.getAll('command')
  if (command.length === 0) throw new ApiError(statuses.badRequest('you must specify at least 1 command'))
  return { spec, command, stdin: route.query.get('stdin') === 'true' }
}

/** Refuses an upgrade the way the API server does: a plain HTTP response with a Status body. */
export function rejectUpgrade(socket: Duplex, error: ApiError): void {
  const body = JSON.stringify(error.status)
  const reason = error.code === 404 ? 'Not Found' : error.code === 403 ? 'Forbidden' : 'Bad Request'
  socket.end(
    `HTTP/1.1 ${error.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}

export function runExec(
  wss: WebSocketServer,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  exec: ReturnType<typeof prepareExec>,
): void {
  wss.handleUpgrade(request, socket, head, (ws) => {
    void pumpExec(ws, exec)
  })
}

async function pumpExec(ws: WebSocket, exec: ReturnType<typeof prepareExec>): Promise<void> {
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]))
  }
  let proc: Awaited<ReturnType<typeof startContainerProcess>>
  try {
    proc = await startContainerProcess({
      ...exec.spec,
      command: exec.command,
      stdin: exec.stdin,
      onOutput: (chunk, stream) => send(stream === 'stdout' ? STDOUT : STDERR, chunk),
    })
  } catch (error) {
    if (!(error instanceof ContainerStartError)) throw error
    const status: StatusJson = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: ${error.message}: unknown`,
      reason: 'InternalError',
      code: 500,
    }
    send(ERROR, Buffer.from(JSON.stringify(status)))
    ws.close(1000)
    return
  }
  ws.on('message', (data: Buffer) => {
    if (data[0] === STDIN) proc.stdin?.write(data.subarray(1))
  })
  // Without v5's close frames, a client ends stdin by closing the socket; a gone client ends the command.
  ws.on('close', () => {
    proc.stdin?.end()
    if (!exec.stdin) proc.kill('SIGKILL')
  })
  const exit = await proc.exited
  const code = exitCodeOf(exit)
  const status =
    code === 0
      ? { metadata: {}, status: 'Success' }
      : {
          metadata: {},
          status: 'Failure',
          message: `command terminated with non-zero exit code: error executing command [${exec.command.join(' ')}], exit code ${code}`,
          reason: 'NonZeroExitCode',
          details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
        }
  send(ERROR, Buffer.from(JSON.stringify(status)))
  ws.close(1000)
}
