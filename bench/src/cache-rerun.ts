import { openDatabase, runLocal } from '@podline/runner'
import { type AnyPipeline, pipeline } from '@podline/sdk'
import { podlineDatabase } from './databases.js'
import { fixed } from './table.js'

export interface CacheRerun {
  tasks: number
  taskMs: number
  /** The first run: every task runs and stores its entry, ms. */
  uncachedMs: number
  /** The same run again: every task a hit, ms. */
  cachedMs: number
}

/** Built in a loop, which the typed builder cannot follow: a loose view of it. */
interface LooseBuilder {
  task(name: string, options: { cache: { version: string } }, fn: () => Promise<unknown>): LooseBuilder
}

/** `tasks` independent tasks with a cache, each `taskMs` of work (a wait standing for it). */
function cachedPipeline(tasks: number, taskMs: number): AnyPipeline {
  let p = pipeline('bench-cached') as unknown as LooseBuilder
  for (let i = 0; i < tasks; i++)
    p = p.task(`t${i}`, { cache: { version: '1' } }, async () => {
      await new Promise((resolve) => setTimeout(resolve, taskMs))
      return { i, rows: i * 10 }
    })
  return p as unknown as AnyPipeline
}

/**
 * A cached pipeline's re-run: the run with every task running (and storing its entry), then the
 * same run with every task a hit, on one local runner (concurrency 8) against PostgreSQL, each
 * timed from the call to runLocal to its return.
 */
export async function measureCacheRerun(tasks = 100, taskMs = 200): Promise<CacheRerun> {
  const db = await podlineDatabase()
  const database = await openDatabase({ databaseUrl: db.url, poolSize: 8 })
  try {
    const p = cachedPipeline(tasks, taskMs)
    const timed = async () => {
      const began = performance.now()
      await runLocal(p, {}, { database, concurrency: 8 })
      return performance.now() - began
    }
    const uncachedMs = await timed()
    const cachedMs = await timed()
    return { tasks, taskMs, uncachedMs, cachedMs }
  } finally {
    await database.close()
    await db.drop()
  }
}

export function cacheRerunRow(r: CacheRerun): string[] {
  return [
    `a cached ${r.tasks}-task pipeline re-run, all hits (tasks of ${r.taskMs} ms, concurrency 8): time (ms)`,
    fixed(r.cachedMs, 0),
    fixed(r.uncachedMs, 0),
    `${fixed(r.cachedMs / r.uncachedMs, 3)}× the uncached run (peer column: the uncached run)`,
  ]
}
