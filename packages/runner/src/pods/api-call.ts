import { ApiException } from '@kubernetes/client-node'
import { Backoff } from '../backoff.js'
import { TaskFailure } from '../engine/task-failure.js'
import { redactPresignedUrls } from '../xcom-store/transfer-target.js'
import { abortable, sleep } from './abortable.js'

export interface ApiRetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
}

/** About half a minute of backoff: long enough for an API server restart, short enough to surface. */
export const DEFAULT_API_RETRY: ApiRetryPolicy = { attempts: 7, baseDelayMs: 250, maxDelayMs: 8000 }

/** The HTTP status of a client-node error, when it carries one. */
export function apiStatus(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code
  const code = (error as { statusCode?: unknown; code?: unknown } | null)?.statusCode
  return typeof code === 'number' ? code : undefined
}

/**
 * The API's own explanation (the Status object's `message`), not client-node's dump of headers. A
 * refusal may quote the pod (a webhook's, a validation's): presigned URLs in it are redacted.
 */
export function apiMessage(error: unknown): string {
  return redactPresignedUrls(rawApiMessage(error))
}

function rawApiMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown }
        if (typeof parsed.message === 'string') return parsed.message
      } catch {
        if (body.trim()) return body.trim().slice(0, 500)
      }
    } else if (
      typeof body === 'object' &&
      body !== null &&
      typeof (body as { message?: unknown }).message === 'string'
    ) {
      return (body as { message: string }).message
    }
    return `HTTP ${error.code}`
  }
  return error instanceof Error ? error.message : String(error)
}

function isTransient(error: unknown): boolean {
  const status = apiStatus(error)
  if (status !== undefined) return status === 429 || status >= 500
  // No status: the connection failed (refused, reset, DNS): worth another try.
  return !(error instanceof TaskFailure) && !(error instanceof Error && error.name === 'AbortError')
}

function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof ApiException)) return undefined
  const headers = error.headers as Record<string, string | undefined>
  const value = headers['retry-after'] ?? headers['Retry-After']
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

/**
 * Calls the API, retrying 5xx, 429 (after Retry-After when the server sends one) and dropped
 * connections with exponential backoff, and turns what retrying cannot fix into a TaskFailure that
 * says what is missing. 404 and 409 are returned to the caller as they are: they mean something there.
 */
export async function callApi<T>(
  what: string,
  call: () => Promise<T>,
  options: { retry?: ApiRetryPolicy; signal?: AbortSignal | undefined } = {},
): Promise<T> {
  const policy = options.retry ?? DEFAULT_API_RETRY
  const backoff = new Backoff(policy.baseDelayMs, policy.maxDelayMs, { jitter: 0.2 })
  for (let attempt = 1; ; attempt++) {
    try {
      return await abortable(call(), options.signal)
    } catch (error) {
      if (options.signal?.aborted) throw error
      if (isTransient(error) && attempt < policy.attempts) {
        const delay = backoff.next()
        await sleep(Math.min(policy.maxDelayMs * 4, retryAfterMs(error) ?? delay), options.signal)
        continue
      }
      throw classifyApiError(what, error, attempt)
    }
  }
}

/** The failure for an API error that retrying did not (or cannot) fix. */
export function classifyApiError(what: string, error: unknown, attempts = 1): unknown {
  const status = apiStatus(error)
  if (status === 404 || status === 409) return error
  const message = apiMessage(error)
  if (status === 401) {
    return new TaskFailure(
      `cannot ${what}: the Kubernetes API rejected the worker's credentials (401 Unauthorized); refresh the kubeconfig or the service account token`,
      'fatal',
      { cause: error },
    )
  }
  if (status === 403 && /violates PodSecurity/.test(message)) {
    return new TaskFailure(
      `cannot ${what}: the namespace's Pod Security admission refused it: ${message}. ` +
        "Set what it names on the task (containerSecurityContext for base, securityContext for the pod; the XCom sidecar's default passes the restricted profile: see docs/pods.md, Pod Security)",
      'fatal',
      { cause: error },
    )
  }
  if (status === 403) {
    return new TaskFailure(
      `cannot ${what}: forbidden by the Kubernetes API: ${message}. ` +
        (/quota/i.test(message)
          ? 'Set the missing requests/limits on the task (resources, sidecar.resources) or raise the ResourceQuota'
          : "Grant the worker's service account the missing permission (see the RBAC section of docs/pods.md)"),
      'fatal',
      { cause: error },
    )
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
    return new TaskFailure(`cannot ${what}: the Kubernetes API refused it (${status}): ${message}`, 'fatal', {
      cause: error,
    })
  }
  if (error instanceof TaskFailure) return error
  return new TaskFailure(
    `cannot ${what}: the Kubernetes API kept failing (${status === undefined ? message : `${status}: ${message}`}) after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
    'infra',
    { cause: error },
  )
}
