import { readFile, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An HTTP proxy in front of the double that cuts the body of matching responses after `keepBytes`:
 * a log stream that ends early, as a rotated log or a dropped connection would leave it.
 */
export async function startTruncatingProxy(
  target: string,
  shouldCut: (path: string) => boolean,
  keepBytes: number,
): Promise<{
  url: string
  kubeconfigFor(original: string, dir: string): Promise<string>
  close(): Promise<void>
}> {
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(
      `${target}${req.url}`,
      { method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        if (!shouldCut(req.url ?? '')) {
          up.pipe(res)
          return
        }
        const chunks: Buffer[] = []
        up.on('data', (c: Buffer) => chunks.push(c))
        up.on('end', () => res.end(Buffer.concat(chunks).subarray(0, keepBytes)))
      },
    )
    req.pipe(upstream)
    res.on('close', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    async kubeconfigFor(original, dir) {
      const path = `${dir}/proxy-kubeconfig`
      await writeFile(path, (await readFile(original, 'utf8')).replaceAll(target, url))
      return path
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
