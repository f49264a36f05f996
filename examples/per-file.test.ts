import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runLocal, taskXcoms } from '@podline/runner'
import { openFreshDatabase } from '@podline/runner/testing'
import { describe, expect, it } from 'vitest'
import { perFile } from './per-file.js'
import { runIdKeeper } from './support/run-id-keeper.js'

const DATA = fileURLToPath(new URL('./data/', import.meta.url))

describe('examples/per-file.ts: one pod per input file through the process runtime', () => {
  it('counts each file in its own pod and reports the counts in file order', async () => {
    const { database, close } = await openFreshDatabase()
    try {
      const run = runIdKeeper()
      const out = await runLocal(perFile, { dir: DATA }, { database, runtime: 'process', onRun: run.onRun })
      expect(out.count).toEqual([
        { file: join(DATA, 'orders-2026-11-19.csv'), rows: 3 },
        { file: join(DATA, 'orders-2026-11-20.csv'), rows: 1 },
        { file: join(DATA, 'orders-2026-11-21.csv'), rows: 4 },
      ])
      expect(out.report).toEqual({ files: 3, rows: 8, largest: join(DATA, 'orders-2026-11-21.csv') })
      const second = Object.fromEntries(
        (await taskXcoms(database, run.id, 'count', 1)).map((x) => [x.key, x.value]),
      )
      expect(second.pod_name).toMatch(/^per-file-count-i1-a1-[0-9a-f]{8}$/)
    } finally {
      await close()
    }
  })
})
