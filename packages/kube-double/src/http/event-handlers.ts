import type { ServerResponse } from 'node:http'
import { ApiError, statuses } from '../api/api-error.js'
import { eventFilter } from '../api/pod-filter.js'
import type { DoubleContext } from './double-context.js'
import type { Route } from './parse-route.js'

export function listEvents(ctx: DoubleContext, route: Route, response: ServerResponse): void {
  const matches = eventFilter(route.query)
  const items = ctx.store
    .listEvents(route.allNamespaces ? undefined : route.namespace)
    .filter(matches)
    .map(({ kind: _kind, apiVersion: _apiVersion, ...event }) => structuredClone(event))
  const body = {
    kind: 'EventList',
    apiVersion: 'v1',
    metadata: { resourceVersion: ctx.store.resourceVersion },
    items,
  }
  response.writeHead(200, { 'Content-Type': 'application/json' })
  response.end(JSON.stringify(body))
}

export function getEvent(ctx: DoubleContext, route: Route, response: ServerResponse): void {
  const event = ctx.store.listEvents(route.namespace).find((e) => e.metadata.name === route.name)
  if (!event) throw new ApiError(statuses.notFound('events', route.name ?? ''))
  response.writeHead(200, { 'Content-Type': 'application/json' })
  response.end(JSON.stringify(event))
}
