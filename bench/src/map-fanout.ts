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
    // `over` makes the list itself: with the list as an upstream output, every item's claim would
    // also read it whole (an item receives its task's inputs), which measures the list's size.
    const p = pipeline('fanout')
      .map('each', { over: () => Array.from({ length: items }, (_, i) => i) }, (n) => n * 2)
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
