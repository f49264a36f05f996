import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import type { AddressInfo } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import { parseRoute } from '@podline/kube-double'

/** One request the proxy passed on: `verb resource` as Kubernetes authorizes it, and when. */
export interface CountedRequest {
  kind: string
  at: number
}

export interface CountingProxy {
  /** A kubeconfig file whose server is the proxy (plain HTTP on 127.0.0.1, no credentials). */
  kubeconfigPath: string
  requests: CountedRequest[]
  /** Counts by kind since the last reset. */
  snapshot(): Record<string, number>
  reset(): void
  close(): Promise<void>
}

/** `verb resource` of a request, as the API server's authorizer names it (the double's own route parser). */
export function requestKind(method: string, url: URL): string {
  const route = parseRoute(method, url)
  return route ? `${route.verb} ${route.resource}` : `${method} ${url.pathname}`
}

/**
 * A counting reverse proxy in front of an API server: the client speaks plain HTTP to 127.0.0.1,
 * the proxy forwards each request (watches and log streams included, streamed) to the server of
 * `kubeconfig` with that kubeconfig's credentials, and records its kind. What `kubectl proxy` does,
 * plus the count: the same figure for the Kubernetes double and for a real API server.
 */
export async function startCountingProxy(kubeconfig: string, dir: string): Promise<CountingProxy> {
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  const server = new URL(kc.getCurrentCluster()?.server ?? '')
  const auth: RequestOptions = {}
  await kc.applyToHTTPSOptions(auth)
  const requests: CountedRequest[] = []
  const forward = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const url = new URL(req.url ?? '/', server)
    requests.push({ kind: requestKind(req.method ?? 'GET', url), at: Date.now() })
    const options: RequestOptions = {
      ...auth,
      method: req.method,
      host: server.hostname,
      port: server.port,
      path: url.pathname + url.search,
      headers: { ...req.headers, ...(auth.headers ?? {}), host: server.host },
    }
    const upstream = (server.protocol === 'https:' ? httpsRequest : httpRequest)(options, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502)
      res.end(String(error))
    })
    // A client that goes away (a watch it closes) ends the upstream request too.
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  }
  const proxy: Server = createServer(forward)
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const { port } = proxy.address() as AddressInfo
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default'
  const proxied = new KubeConfig()
  proxied.loadFromOptions({
    clusters: [{ name: 'proxy', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'proxy' }],
    contexts: [{ name: 'proxy', cluster: 'proxy', user: 'proxy', namespace }],
    currentContext: 'proxy',
  })
  const { writeFileSync } = await import('node:fs')
  const kubeconfigPath = `${dir}/proxy.kubeconfig`
  writeFileSync(kubeconfigPath, proxied.exportConfig(), { mode: 0o600 })
  return {
    kubeconfigPath,
    requests,
    snapshot() {
      const counts: Record<string, number> = {}
      for (const r of requests) counts[r.kind] = (counts[r.kind] ?? 0) + 1
      return counts
    },
    reset() {
      requests.length = 0
    },
    async close() {
      proxy.closeAllConnections()
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
    },
  }
}
