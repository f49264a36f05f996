import { openDatabase, runLocal } from '@podline/runner'
import { pipeline } from '@podline/sdk'
import { podlineDatabase } from './databases.js'

export interface FanoutResult {
  items: number
  /** From the mapped task's claim to its items existing: `over` and the one-statement insert. */
  expandMs: number
  /** From the expansion to the downstream task's start: every item run, then the assembly. */
  itemsMs: number
  msPerItem: number
}

/** One mapped task over `items` trivial items, run by runLocal on a fresh database. */
export async function measureFanout(items: number): Promise<FanoutResult> {
  const db = await podlineDatabase()
  const database = await openDatabase({ databaseUrl: db.url })
  try {
    const p = pipeline('fanout')
      .task('list', () => Array.from({ length: items }, (_, i) => i))
      .map('each', { needs: ['list'], over: ({ list }) => list }, (n) => n * 2)
      .task('sum', { needs: ['each'] }, ({ each }) => each.length)
    const at: Record<string, number> = {}
    const out = await runLocal(p, undefined, {
      database,
      concurrency: 8,
      onAttempt: (e) => {
        if (e.mapIndex !== undefined) return
        const key = `${e.task}:${e.type}`
        at[key] ??= performance.now()
      },
    })
    if (out.sum !== items) throw new Error(`expected ${items} outputs, got ${out.sum}`)
    const expandMs = (at['each:finished'] ?? 0) - (at['each:started'] ?? 0)
    const itemsMs = (at['sum:started'] ?? 0) - (at['each:finished'] ?? 0)
    return { items, expandMs, itemsMs, msPerItem: itemsMs / items }
  } finally {
    await database.close()
    await db.drop()
  }
}
