import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStore, type Store, Worker, waitForRun } from '@podline/runner'
import { freshDatabase } from '@podline/runner/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, podline, tempDir } from './__tests__/cli.js'
import { mapped } from './__tests__/fixtures/mapped.js'

let db: Awaited<ReturnType<typeof freshDatabase>>
let store: Store
let env: Record<string, string>
const healed = join(tempDir(), 'healed')
beforeAll(async () => {
  db = await freshDatabase()
  store = await openStore({ databaseUrl: db.url, migrate: false })
  env = { DATABASE_URL: db.url, MAPPED_HEALED: healed }
})
afterAll(async () => {
  await store?.close()
  await db?.drop()
})

describe('the operator verbs on a mapped task', () => {
  let runId = ''
  it('status shows it as one row with its items by state, and lists the failed items', async () => {
    const r = await podline(['run', join(FIXTURES, 'mapped.ts')], { env })
    expect(r.code).toBe(1)
    runId = /run ([0-9a-f-]{36})/.exec(r.stderr)?.[1] ?? ''
    const s = await podline(['status', runId], { env })
    expect(s.code, s.stderr).toBe(0)
    expect(s.stdout).toMatch(/^count +failed \(3 items: 1 failed, 2 success\) +1\/1 /m)
    expect(s.stdout.match(/^count +failed/gm)).toHaveLength(1)
    expect(s.stdout).toContain('count: 1 failed item\n  item 1 (failed, attempt 1): cannot read bb.csv')
  })

  it('logs and xcom read one item with --item, and refuse an item the task does not have', async () => {
    const logs = await podline(['logs', runId, 'count', '--item', '2'], { env })
    expect(logs.stdout).toMatch(/ count\[2\]#1 INFO {2}counting ccc\.csv/)
    expect(logs.stdout).not.toContain('a.csv')
    const x = await podline(['xcom', runId, 'count', '--item', '2'], { env })
    expect(JSON.parse(x.stdout)).toEqual({ file: 'ccc.csv', rows: 7 })
    const missing = await podline(['xcom', runId, 'count', '--item', '7'], { env })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('has no item 7; its items are 0 to 2')
    const bad = await podline(['logs', runId, 'count', '--item', 'x'], { env })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain(`--item takes an item's index (0, 1, …), got "x"`)
  })

  it('retry runs the failed item alone, and the run ends with the array of all three', async () => {
    writeFileSync(healed, '')
    // The worker below runs the pipeline in this process.
    process.env.MAPPED_HEALED = healed
    const r = await podline(['retry', runId, 'count', '--json'], { env })
    expect(r.code, r.stderr).toBe(0)
    const attempts: string[] = []
    const worker = new Worker({
      database: store.database,
      pipelines: [mapped],
      runId,
      leaseThread: false,
      onAttempt: (e) => {
        if (e.type === 'started') attempts.push(e.task)
      },
    })
    await worker.start()
    try {
      await waitForRun(store.database, runId, { pollMs: 200 })
    } finally {
      await worker.stop({ drainMs: 2000 })
    }
    // The failed item, then the downstream task: the items that succeeded are not run again.
    expect(attempts).toEqual(['count', 'total'])
    const x = await podline(['xcom', runId, 'count'], { env })
    expect(JSON.parse(x.stdout)).toEqual([
      { file: 'a.csv', rows: 5 },
      { file: 'bb.csv', rows: 6 },
      { file: 'ccc.csv', rows: 7 },
    ])
    expect(JSON.parse((await podline(['xcom', runId, 'total'], { env })).stdout)).toBe(18)
  })
})
