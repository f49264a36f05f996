import { timingSafeEqual } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'

/** The cookie the login form sets: HttpOnly, SameSite=Strict, so no script and no other site reads or sends it. */
export const TOKEN_COOKIE = 'podline_ui_token'

/** Host names that reach only this machine. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

export const isLoopback = (host: string) => LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)

export interface GuardOptions {
  /** PODLINE_UI_TOKEN: required on every API call when set. */
  token?: string
  /** The UI listens on loopback only: then requests must name a loopback host. */
  loopbackOnly: boolean
}

export function tokenMatches(token: string | undefined, given: string | undefined): boolean {
  if (token === undefined || given === undefined) return false
  const a = Buffer.from(token)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

export const bearerOf = (c: Context) => c.req.header('authorization')?.match(/^Bearer (.+)$/i)?.[1]

/** Whether the request carries the token, as a bearer header or the login form's cookie. */
export function isAuthenticated(c: Context, token: string | undefined): boolean {
  return (
    token === undefined || tokenMatches(token, bearerOf(c)) || tokenMatches(token, getCookie(c, TOKEN_COOKIE))
  )
}

/**
 * The API's guard. hono/csrf checks only form posts against a fixed list of origins; here every
 * mutating request is checked against the origin the request itself was sent to, and with
 * Sec-Fetch-Site, so a page of another site (or a DNS name rebound to 127.0.0.1) cannot act through
 * the browser of someone who has the UI open.
 */
export function apiGuard(options: GuardOptions): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url)
    // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends Host: evil.example.
    if (options.loopbackOnly && !isLoopback(url.hostname))
      return c.json({ error: `the UI answers only on a loopback address, not ${url.hostname}` }, 403)
    const mutating = !['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)
    if (mutating && !bearerOf(c)) {
      // A bearer header is never sent by a browser on its own, so only cookie or no-token calls need the origin check.
      const origin = c.req.header('origin')
      const site = c.req.header('sec-fetch-site')
      if (origin !== url.origin || (site !== undefined && site !== 'same-origin'))
        return c.json(
          {
            error: `refused: a ${c.req.method} must come from the UI's own origin ${url.origin} (Origin: ${origin ?? 'none'}); scripts send Authorization: Bearer <PODLINE_UI_TOKEN> instead`,
          },
          403,
        )
      if (!c.req.header('content-type')?.startsWith('application/json'))
        return c.json(
          { error: 'refused: a request that changes something sends Content-Type: application/json' },
          415,
        )
    }
    const path = url.pathname
    if (path !== '/api/session' && path !== '/api/login' && !isAuthenticated(c, options.token))
      return c.json(
        { error: 'this UI needs its token: log in, or send Authorization: Bearer <PODLINE_UI_TOKEN>' },
        401,
      )
    return next()
  }
}
