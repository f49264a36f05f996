import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError, statuses } from '../api/api-error.js'
import type { StatusJson } from '../wire-types.js'

const MAX_BODY_BYTES = 3 * 1024 * 1024

/** Reads a JSON request body; malformed JSON is the API server's 400. */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new ApiError(statuses.badRequest('request entity too large'))
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new ApiError(
      statuses.badRequest(
        `the object provided is unrecognized (must be of type Pod): ${(error as Error).message}`,
      ),
    )
  }
}

export function sendJson(
  response: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  response.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  })
  response.end(text)
}

export function sendStatus(
  response: ServerResponse,
  status: StatusJson,
  headers: Record<string, string> = {},
): void {
  sendJson(response, status.code ?? 500, status, headers)
}
