import { createConnection, createServer, type Socket } from 'node:net'

/** A TCP proxy that can cut every connection and refuse new ones: a network partition in a box. */
export interface TcpProxy {
  readonly port: number
  cut(): void
  heal(): void
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let cut = false
  const track = (s: Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
    s.on('error', () => {})
  }
  const server = createServer((client) => {
    track(client)
    if (cut) return void client.destroy()
    const upstream = createConnection(target)
    track(upstream)
    client.pipe(upstream).pipe(client)
    client.once('close', () => upstream.destroy())
    upstream.once('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('the proxy has no TCP address')
  return {
    port: address.port,
    cut() {
      cut = true
      for (const s of sockets) s.destroy()
    },
    heal() {
      cut = false
    },
    close() {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
