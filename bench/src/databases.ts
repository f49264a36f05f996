import { openDatabase } from '@podline/runner'
import { runMigrations } from 'graphile-worker'
import { type BenchDatabase, emptyDatabase } from './server.js'

/** A fresh database with Podline's schema migrated. */
export async function podlineDatabase(): Promise<BenchDatabase> {
  const db = await emptyDatabase('podline_bench')
  const database = await openDatabase({ databaseUrl: db.url, poolSize: 1 })
  try {
    await database.migrate()
  } finally {
    await database.close()
  }
  return db
}

/** A fresh database with graphile-worker's schema migrated. */
export async function graphileDatabase(): Promise<BenchDatabase> {
  const db = await emptyDatabase('graphile_bench')
  await runMigrations({ connectionString: db.url, logger: quietLogger() })
  return db
}

import { Logger } from 'graphile-worker'

/** graphile-worker logs every job at info level; a benchmark wants only its errors. */
export function quietLogger(): Logger {
  return new Logger(() => (level, message) => {
    if (level === 'error') process.stderr.write(`graphile-worker: ${message}\n`)
  })
}
