import type { Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/**
 * What the page may load and who may frame it. The built app is one module script and one
 * stylesheet from this origin, and it talks to this origin only: nothing inline, no eval, nothing
 * from elsewhere. React and React Flow set styles through the DOM, which `style-src` allows.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  // One click in a frame on another site would otherwise act in the UI (clickjacking).
  "frame-ancestors 'none'",
].join('; ')

/** Sent with every answer the UI's server writes. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  // For browsers that predate frame-ancestors.
  'X-Frame-Options': 'DENY',
  // With it, a JSON answer cannot be loaded as a script or a stylesheet.
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
}

/** The status Node itself gives a request it cannot parse (its default clientError handling). */
function clientErrorStatus(code: string | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return '431 Request Header Fields Too Large'
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return '413 Payload Too Large'
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return '408 Request Timeout'
  return '400 Bad Request'
}

/**
 * Puts SECURITY_HEADERS on every response of `server`: set on the Node response before any handler
 * runs, so they hold for the app's answers, its errors and 404s, and for the answers the HTTP
 * adapter writes without the app (a request it cannot turn into a Request); and on the answer to a
 * request Node cannot parse, which Node would otherwise write bare.
 */
export function sendSecurityHeaders(server: Server): void {
  /** The last response begun on each connection: a half-written one must not get a status line inside it. */
  const current = new WeakMap<Socket, ServerResponse>()
  server.prependListener('request', (request, response) => {
    current.set(request.socket, response)
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value)
  })
  const headers = Object.entries(SECURITY_HEADERS)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const inFlight = current.get(socket)
    if (!socket.writable || (inFlight?.headersSent && !inFlight.writableFinished)) {
      socket.destroy()
      return
    }
    socket.end(
      `HTTP/1.1 ${clientErrorStatus(error.code)}\r\n${headers}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    )
  })
}
