import type { RequestAttributes } from '../api/request-counter.js'

/** A request to a resource the double serves, with the verb the API server would authorize. */
export interface Route extends RequestAttributes {
  /** `undefined` when the request spans all namespaces (`/api/v1/pods`). */
  readonly allNamespaces: boolean
  readonly query: URLSearchParams
}

const PATH =
  /^\/api\/v1(?:\/namespaces\/([^/]+))?\/(pods|events)(?:\/([^/]+)(?:\/(log|exec|status|eviction))?)?\/?$/

/** Maps method and path to verb and resource, as the API server's request-info resolver does. */
export function parseRoute(method: string, url: URL): Route | undefined {
  const match = PATH.exec(url.pathname)
  if (!match) return undefined
  const [, namespace, collection = '', name, sub] = match
  const query = url.searchParams
  const resource = sub ? `${collection}/${sub}` : collection
  const watching = query.get('watch') === 'true' || query.get('watch') === '1'
  let verb: RequestAttributes['verb'] | undefined
  switch (method) {
    case 'GET':
      // Exec over WebSocket is a GET, but authorized as create (the pods/exec RBAC rule).
      verb = sub === 'exec' ? 'create' : watching ? 'watch' : name ? 'get' : 'list'
      break
    case 'POST':
      verb = 'create'
      break
    case 'DELETE':
      verb = 'delete'
      break
    case 'PUT':
      verb = 'update'
      break
    case 'PATCH':
      verb = 'patch'
      break
  }
  if (!verb) return undefined
  return {
    verb,
    resource,
    namespace: namespace ? decodeURIComponent(namespace) : '',
    ...(name ? { name: decodeURIComponent(name) } : {}),
    allNamespaces: namespace === undefined,
    query,
  }
}
