import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { serveStatic } from '@hono/node-server/serve-static'
import { type Database, EventFeed, type XComStore } from '@podline/runner'
import type { KubeClient } from '@podline/runner/pods'
import { Hono } from 'hono'
import { createApi } from './api.js'
import { isLoopback } from './guard.js'
import { sendSecurityHeaders } from './security-headers.js'

export interface UiServerOptions {
  database: Database
  /** Default 7070; 0 picks a free port. */
  port?: number
  /** Default 127.0.0.1. Another address needs `token`. */
  host?: string
  /** PODLINE_UI_TOKEN. */
  token?: string
  /** Where offloaded XCom values are read from (PODLINE_XCOM_STORE). */
  xcomStore?: XComStore
  /** The cluster pod tasks' pods are read from, made on first use. */
  kube?: () => Promise<KubeClient>
}

export interface UiServer {
  url: string
  close(): Promise<void>
}

/** The built single-page app: beside the built server (dist/public), or the package's dist when run from source. */
export const PUBLIC_DIR =
  [new URL('../public', import.meta.url), new URL('../../dist/public', import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../public', import.meta.url))

export class UiConfigError extends Error {
  override readonly name = 'UiConfigError'
}

/** Serves the JSON API under /api and the single-page app for every other path. */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1'
  const loopbackOnly = isLoopback(host)
  const token = options.token || undefined
  if (!loopbackOnly && !token)
    throw new UiConfigError(
      `the UI would listen on ${host}, where others can reach it: set PODLINE_UI_TOKEN to the token they must present, or listen on 127.0.0.1 (the default)`,
    )
  if (!existsSync(PUBLIC_DIR))
    throw new UiConfigError(`the UI's files are not built (${PUBLIC_DIR} is missing): run npm run build`)
  const feed = new EventFeed(options.database)
  await feed.start()
  const app = new Hono()
    .route(
      '/api',
      createApi({
        database: options.database,
        feed,
        loopbackOnly,
        ...(token ? { token } : {}),
        ...(options.xcomStore ? { xcomStore: options.xcomStore } : {}),
        ...(options.kube ? { kube: options.kube } : {}),
      }),
    )
    .use(
      '*',
      serveStatic({ root: PUBLIC_DIR }),
      // Every other path is a page of the app: its router draws it.
      serveStatic({ root: PUBLIC_DIR, rewriteRequestPath: () => '/index.html' }),
    )
  const serverOptions = { fetch: app.fetch, port: options.port ?? 7070, hostname: host }
  const server = await new Promise<Server>((resolve, reject) => {
    // A node:http server: serve() makes one unless given another createServer.
    const s = serve(serverOptions, () => resolve(s)) as Server
    // Before the first request can arrive: connections are accepted on a later turn of the event loop.
    sendSecurityHeaders(s)
    s.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      await feed.stop()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Live streams never end by themselves.
        server.closeAllConnections()
      })
    },
  }
}
