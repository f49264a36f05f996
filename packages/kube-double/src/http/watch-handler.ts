import type { ServerResponse } from 'node:http'
import { statuses } from '../api/api-error.js'
import { podFilter } from '../api/pod-filter.js'
import type { PodWatchEvent } from '../api/resource-store.js'
import type { WatchEventType } from '../wire-types.js'
import type { DoubleContext } from './double-context.js'
import type { Route } from './parse-route.js'

/**
 * A pod watch: newline-delimited JSON events. Without a resourceVersion (or "0") it starts with an
 * ADDED event per existing pod; with one it replays what changed since, or, when that history was
 * compacted, sends the API's ERROR event with a 410 Expired Status and ends.
 */
export function watchPods(ctx: DoubleContext, route: Route, response: ServerResponse): void {
  const matches = podFilter(route.query)
  const namespace = route.allNamespaces ? undefined : route.namespace
  const inScope = (event: PodWatchEvent): boolean =>
    (namespace === undefined || event.object.metadata.namespace === namespace) && matches(event.object)
  const write = (type: WatchEventType, object: unknown): void => {
    response.write(`${JSON.stringify({ type, object })}\n`)
  }
  response.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' })

  const from = route.query.get('resourceVersion')
  if (from && from !== '0') {
    const changes = ctx.store.changesSince(Number(from))
    if (!changes) {
      write(
        'ERROR',
        statuses.expired(`too old resource version: ${from} (${ctx.store.compactedRevision + 1})`),
      )
      response.end()
      return
    }
    for (const change of changes.filter(inScope)) write(change.type, change.object)
  } else {
    for (const pod of ctx.store.listPods(namespace).filter(matches)) {
      write('ADDED', { kind: 'Pod', apiVersion: 'v1', ...structuredClone(pod) })
    }
  }

  const unsubscribe = ctx.store.subscribe((event) => {
    if (inScope(event)) write(event.type, event.object)
  })
  const bookmarks =
    route.query.get('allowWatchBookmarks') === 'true'
      ? setInterval(
          () =>
            write('BOOKMARK', {
              kind: 'Pod',
              apiVersion: 'v1',
              metadata: { resourceVersion: ctx.store.resourceVersion },
            }),
          ctx.bookmarkIntervalMs,
        )
      : undefined
  const timeoutSeconds = Number(route.query.get('timeoutSeconds') ?? 0)
  const timeout = timeoutSeconds > 0 ? setTimeout(() => response.end(), timeoutSeconds * 1000) : undefined
  ctx.openWatches.add(response)
  response.once('close', () => {
    unsubscribe()
    clearInterval(bookmarks)
    clearTimeout(timeout)
    ctx.openWatches.delete(response)
  })
}
