import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'

export interface Probes {
  /** Ready to take work: connected, schema current, worker started, not draining. */
  ready(): boolean
  registry: Registry
}

/**
 * /healthz, /readyz and /metrics. Liveness is a timer that must keep ticking: a blocked event loop
 * (a task spinning the CPU synchronously) stops it, and the probe then fails instead of lying.
 */
export function createHttpServer(probes: Probes): Server {
  let lastTick = Date.now()
  const ticker = setInterval(() => {
    lastTick = Date.now()
  }, 1000)
  ticker.unref()
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type }).end(body)
    }
    if (path === '/healthz') {
      const lag = Date.now() - lastTick
      return lag < 10_000 ? reply(200, 'ok\n') : reply(503, `event loop stalled for ${lag} ms\n`)
    }
    if (path === '/readyz') return probes.ready() ? reply(200, 'ready\n') : reply(503, 'not ready\n')
    if (path === '/metrics') {
      probes.registry.metrics().then(
        (text) => reply(200, text, probes.registry.contentType),
        (error: Error) => reply(500, `${error.message}\n`),
      )
      return
    }
    reply(404, 'not found: try /healthz, /readyz or /metrics\n')
  })
  server.on('close', () => clearInterval(ticker))
  return server
}
