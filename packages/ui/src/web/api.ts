import { hc, type InferResponseType } from 'hono/client'
import type { Api } from '../server/api.js'

/** The API's typed client: every path, parameter and answer comes from the server's routes. */
export const api = hc<Api>(`${window.location.origin}/api`, {
  init: { credentials: 'same-origin' },
  // Mutating calls are checked against the page's origin (the browser sends it); JSON is what they carry.
  headers: { 'content-type': 'application/json' },
})

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** Refused params: each problem by the param it concerns. */
    readonly issues: readonly { param: string; message: string }[] = [],
  ) {
    super(message)
  }
}

/** What the API answers when it refuses: a message that names the problem. */
type Problem = { error: string }
type Body<R> = R extends { json(): Promise<infer T> } ? T : never
type Answer<F extends (...args: never[]) => unknown> = Exclude<InferResponseType<F>, Problem>

/** The body of a 2xx answer; an ApiError with the server's message otherwise. */
export async function ok<R extends { ok: boolean; status: number; json(): Promise<unknown> }>(
  response: Promise<R>,
): Promise<Exclude<Body<R>, Problem>> {
  const r = await response
  const body = (await r.json()) as Body<R>
  if (!r.ok) {
    const { error: message, issues } = body as Partial<Problem> & { issues?: ApiError['issues'] }
    throw new ApiError(
      typeof message === 'string' ? message : `the server answered ${r.status}`,
      r.status,
      Array.isArray(issues) ? issues : [],
    )
  }
  return body as Exclude<Body<R>, Problem>
}

export type RunsPage = Answer<typeof api.runs.$get>
export type RunRow = RunsPage['runs'][number]
export type RunDetail = Answer<(typeof api.runs)[':id']['$get']>
export type TaskRow = RunDetail['tasks'][number]
export type Pipeline = Answer<typeof api.pipelines.$get>['pipelines'][number]
export type LogLine = Answer<(typeof api.runs)[':id']['tasks'][':task']['logs']['$get']>['lines'][number]
export type PoolRow = Answer<typeof api.pools.$get>['pools'][number]
export type AssetRow = Answer<typeof api.assets.$get>['assets'][number]
export type AssetEvent = Answer<(typeof api.assets)[':name']['events']['$get']>['events'][number]

/** An asset's name as one path segment: names may hold '/' (`s3/raw/orders`), which hc does not encode. */
export const assetParam = (name: string) => ({ name: encodeURIComponent(name) })
