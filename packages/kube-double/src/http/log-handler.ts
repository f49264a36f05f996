import type { ServerResponse } from 'node:http'
import { ApiError, statuses } from '../api/api-error.js'
import { findContainerStatus } from '../kubelet/pod-status.js'
import type { DoubleContext } from './double-context.js'
import type { Route } from './parse-route.js'
import { routePod } from './route-handler.js'

/**
 * pods/log: the container's output; with follow=true it streams until the container ends, across the
 * kubelet's rotations of the log file (what a rotation leaves unread of the older file is served).
 */
export function readLog(ctx: DoubleContext, route: Route, response: ServerResponse): void {
  const { name, pod } = routePod(ctx, route)
  const regular = pod.spec.containers.map((c) => c.name)
  const init = (pod.spec.initContainers ?? []).map((c) => c.name)
  let container = route.query.get('container') ?? undefined
  if (!container) {
    if (regular.length !== 1) {
      const initPart = init.length > 0 ? ` or one of the init containers: [${init.join(' ')}]` : ''
      throw new ApiError(
        statuses.badRequest(
          `a container name must be specified for pod ${name}, choose one of: [${regular.join(' ')}]${initPart}`,
        ),
      )
    }
    container = regular[0] ?? ''
  }
  if (!regular.includes(container) && !init.includes(container)) {
    throw new ApiError(statuses.badRequest(`container ${container} is not valid for pod ${name}`))
  }
  if (route.query.get('previous') === 'true') {
    throw new ApiError(
      statuses.badRequest(`previous terminated container "${container}" in pod "${name}" not found`),
    )
  }
  const log = ctx.kubelet.worker(route.namespace, name)?.logs.get(container)
  if (!log) {
    const waiting = findContainerStatus(pod, container)?.state.waiting
    const reason = waiting?.reason ?? 'ContainerCreating'
    const detail =
      reason === 'ErrImagePull' || reason === 'ImagePullBackOff' ? 'trying and failing to pull image' : reason
    throw new ApiError(
      statuses.badRequest(`container "${container}" in pod "${name}" is waiting to start: ${detail}`),
    )
  }
  const tail = route.query.get('tailLines')
  const timestamps = route.query.get('timestamps') === 'true'
  response.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' })
  response.write(
    log.read({ timestamps, ...(tail !== null && tail !== '' ? { tailLines: Number(tail) } : {}) }),
  )
  if (route.query.get('follow') !== 'true' || log.ended) {
    response.end()
    return
  }
  const stop = log.follow(
    (chunk) => response.write(chunk),
    () => response.end(),
    timestamps,
  )
  ctx.openLogs.add(response)
  response.once('close', () => {
    ctx.openLogs.delete(response)
    stop()
  })
}
