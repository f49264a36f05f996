import type { ServerResponse } from 'node:http'
import { statuses } from '../api/api-error.js'
import { podFilter } from '../api/pod-filter.js'
import type { PodWatchEvent } from '../api/resource-store.js'
import type { PodJson, WatchEventType } from '../wire-types.js'
import type { DoubleContext } from './double-context.js'
import type { Route } from './parse-route.js'

/**
 * A pod watch: newline-delimited JSON events. Without a resourceVersion (or "0") it starts with an
 * ADDED event per existing pod; with one it replays what changed since, or, when that history was
 * compacted, sends the API's ERROR event with a 410 Expired Status and ends. A pod that stops
 * matching the selector is DELETED for the watcher, one that starts matching ADDED.
 */
export function watchPods(ctx: DoubleContext, route: Route, response: ServerResponse): void {
  const matches = podFilter(route.query)
  const namespace = route.allNamespaces ? undefined : route.namespace
  const inNamespace = (pod: PodJson): boolean =>
    namespace === undefined || pod.metadata.namespace === namespace
  const write = (type: WatchEventType, object: unknown): void => {
    response.write(`${JSON.stringify({ type, object })}\n`)
  }
  // The pods this watcher sees. As the API server's watch cache does, a change that takes a pod out
  // of the selector is a DELETED event for this watcher, and one that brings it in an ADDED.
  const visible = new Set<string>()
  const deliver = (event: PodWatchEvent): void => {
    const pod = event.object
    if (!inNamespace(pod)) return
    const key = podKey(pod)
    const was = visible.has(key)
    const now = event.type !== 'DELETED' && matches(pod)
    if (was && !now) {
      visible.delete(key)
      write('DELETED', pod)
    } else if (now && !was) {
      visible.add(key)
      write('ADDED', pod)
    } else if (now) write(event.type, pod)
  }
  response.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' })
  // The API server answers a watch at once, events or not; Node would hold the headers until a write.
  response.flushHeaders()

  const from = route.query.get('resourceVersion')
  if (from && from !== '0') {
    const revision = Number(from)
    const changes = ctx.store.changesSince(revision)
    if (!changes) {
      write(
        'ERROR',
        statuses.expired(`too old resource version: ${from} (${ctx.store.compactedRevision + 1})`),
      )
      response.end()
      return
    }
    // What the watcher saw at `from`: the pods that matched then.
    const first = new Map<string, PodWatchEvent>()
    for (const change of changes)
      if (!first.has(podKey(change.object))) first.set(podKey(change.object), change)
    for (const pod of ctx.store.listPods(namespace))
      if (!first.has(podKey(pod)) && matches(pod)) visible.add(podKey(pod))
    for (const [key, change] of first) {
      if (change.type === 'ADDED') continue
      const { namespace: ns = '', name = '' } = change.object.metadata
      const before = ctx.store.changeAtOrBefore(ns, name, revision)
      const matchedThen = before
        ? before.type !== 'DELETED' && matches(before.object)
        : matches(change.object)
      if (matchedThen) visible.add(key)
    }
    for (const change of changes) deliver(change)
  } else {
    for (const pod of ctx.store.listPods(namespace).filter(matches)) {
      visible.add(podKey(pod))
      write('ADDED', { kind: 'Pod', apiVersion: 'v1', ...structuredClone(pod) })
    }
  }

  const unsubscribe = ctx.store.subscribe(deliver)
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

const podKey = (pod: PodJson): string => `${pod.metadata.namespace}/${pod.metadata.name}`
