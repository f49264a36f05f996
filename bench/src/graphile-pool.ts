import pg from 'pg'

/**
 * A pool for graphile-worker that the benchmark owns. Given a connection string, graphile-worker
 * creates its own pool, and on stop removes that pool's 'error' listener before ending it without
 * waiting: connections still closing when the benchmark dropped the database WITH (FORCE) then
 * emitted an unhandled 'error' and crashed the bench. With our own pool, `end()` resolves only once
 * every connection is gone, and a connection error after that is logged, never thrown.
 */
export interface GraphilePool {
  pool: pg.Pool
  /** Resolves once every connection of the pool is closed. */
  end(): Promise<void>
}

export function graphilePool(connectionString: string, max: number): GraphilePool {
  const pool = new pg.Pool({ connectionString, max })
  const report = (error: Error) => process.stderr.write(`graphile-worker pool: ${error.message}\n`)
  pool.on('error', report)
  pool.on('connect', (client) => client.on('error', report))
  let ended: Promise<void> | undefined
  return {
    pool,
    end: () => {
      ended ??= pool.end()
      return ended
    },
  }
}
