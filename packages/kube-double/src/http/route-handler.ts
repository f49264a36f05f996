import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError, statuses } from '../api/api-error.js'
import type { PodJson } from '../wire-types.js'
import type { DoubleContext } from './double-context.js'
import type { Route } from './parse-route.js'

/** Serves one `verb resource` of the API; a handler that reads no body leaves out `request`. */
export type RouteHandler = (
  ctx: DoubleContext,
  route: Route,
  response: ServerResponse,
  request: IncomingMessage,
) => void | Promise<void>

/** The pod a route names, or the API server's 404 for it. */
export function routePod(ctx: DoubleContext, route: Route): { name: string; pod: PodJson } {
  const name = route.name ?? ''
  const pod = ctx.store.getPod(route.namespace, name)
  if (!pod) throw new ApiError(statuses.notFound('pods', name))
  return { name, pod }
}
