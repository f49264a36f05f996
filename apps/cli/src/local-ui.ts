import type { Database } from '@podline/runner'
import { UsageError } from './usage-error.js'

/** The UI of `podline run --ui`: served on the run's own store while it runs, and after it until interrupted. */
export interface LocalUi {
  url: string
  /** Keeps the UI up until SIGINT or SIGTERM, then closes it. */
  stayUp(): Promise<void>
}

export async function startLocalUi(database: Database, port: number): Promise<LocalUi> {
  const { startUiServer, UiConfigError } = await import('@podline/ui')
  const server = await startUiServer({ database, port }).catch((error: unknown) => {
    if (error instanceof UiConfigError) throw new UsageError(error.message)
    throw error
  })
  return {
    url: server.url,
    async stayUp() {
      process.stderr.write(`podline: the UI stays up at ${server.url} until Ctrl-C\n`)
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      await server.close()
    },
  }
}

/** A commander parser for --ui's optional port. */
export function parseUiPort(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || n > 65535)
    throw new UsageError(`--ui ${value}: expected a port, 0 to 65535.`)
  return n
}
