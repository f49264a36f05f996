import type { StatusJson } from '../wire-types.js'

/** An API failure, carried to the HTTP layer as the Status object the real API server would send. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: StatusJson,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message)
  }

  get code(): number {
    return this.status.code ?? 500
  }
}

type Details = NonNullable<StatusJson['details']>

function failure(code: number, reason: string, message: string, details?: Details): StatusJson {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  }
}

export const statuses = {
  notFound: (resource: string, name: string): StatusJson =>
    failure(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource }),
  alreadyExists: (resource: string, name: string): StatusJson =>
    failure(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource }),
  badRequest: (message: string): StatusJson => failure(400, 'BadRequest', message),
  forbidden: (message: string, details: Details): StatusJson => failure(403, 'Forbidden', message, details),
  expired: (message: string): StatusJson => failure(410, 'Expired', message),
  invalid: (
    kind: string,
    name: string,
    causes: Array<{ field: string; reason: string; message: string }>,
  ): StatusJson => {
    const messages = causes.map((c) => `${c.field}: ${c.message}`)
    const joined = messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`
    return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${joined}`, {
      name,
      kind,
      causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })),
    })
  },
  internal: (message: string): StatusJson =>
    failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
  tooManyRequests: (retryAfterSeconds: number): StatusJson =>
    failure(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds }),
  serviceUnavailable: (message: string): StatusJson => failure(503, 'ServiceUnavailable', message),
  methodNotAllowed: (message: string): StatusJson => failure(405, 'MethodNotAllowed', message),
  unsupportedMediaType: (message: string): StatusJson => failure(415, 'UnsupportedMediaType', message),
}
