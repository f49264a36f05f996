import { type Database, runEvents, taskLogLines, triggerPipeline, Worker } from '@podline/runner'
import { runEnded } from '@podline/runner/testing'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'

describe('text PostgreSQL cannot store', () => {
  const db = useFreshDatabase()
  const warnings: string[] = []

  /** Runs one run of `p` on a worker of its own and returns how it ended. */
  async function runOnce(
    p: Parameters<typeof triggerPipeline>[1],
    worker = new Worker({ database: db.database, pipelines: [p], log: (_l, m) => warnings.push(m) }),
  ) {
    await worker.start()
    try {
      return await runEnded(db.database, await triggerPipeline(db.database, p, {}))
    } finally {
      await worker.stop({ drainMs: 1000 })
    }
  }

  it('an output with a NUL fails its attempt once, fatally, naming the path, though retries remain', async () => {
    const p = pipeline('nul-output').task('rows', { retries: 3 }, () => ({
      rows: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd\u0000e' }],
    }))
    const status = await runOnce(p)
    expect(status.tasks[0]).toMatchObject({ state: 'failed', attempt: 1 })
    expect(status.tasks[0]?.error).toBe(
      'UnstorableTextError: the output of task "rows": $.rows[3].name contains a NUL character (\\u0000), ' +
        'which PostgreSQL cannot store; remove it, or encode the value (base64 for binary data) before returning it',
    )
  })

  it('an output key with a lone surrogate fails the same way, naming the key', async () => {
    const p = pipeline('surrogate-key').task('keyed', () => ({ ok: { 'broken\uD800key': 1 } }))
    const status = await runOnce(p)
    expect(status.tasks[0]?.state).toBe('failed')
    expect(status.tasks[0]?.error).toMatch(
      /the key \$\.ok\["broken\\ud800key"\] contains a lone UTF-16 surrogate \(\\uD800\)/,
    )
  })

  it('an error message and log lines with a NUL are stored escaped, and the attempt fails once, not as a dead worker', async () => {
    const p = pipeline('nul-error').task('throws', { retries: 0 }, (_inputs, ctx) => {
      ctx.log.info('binary \u0000 in a line', { raw: 'also \u0000 here', 'k\u0000': 1 })
      throw new Error('bad byte \u0000 here')
    })
    const status = await runOnce(p)
    expect(status.tasks[0]).toMatchObject({ state: 'failed', attempt: 1, error: 'bad byte \\u0000 here' })
    const events = await runEvents(db.database, status.run.id)
    expect(events.filter((e) => e.toState === 'queued' && e.fromState === 'running')).toEqual([])
    const [line] = await taskLogLines(db.database, status.run.id, 'throws')
    expect(line?.message).toBe('binary \\u0000 in a line')
    expect(line?.fields).toEqual({ raw: 'also \\u0000 here', 'k\\u0000': 1 })
  })

  it('a pod container that prints a NUL byte fails its task once with retries: 0, its log kept', async () => {
    const { createPodRuntime } = await import('@podline/runner')
    const p = pipeline('nul-pod').pod(
      'prints',
      { retries: 0 },
      {
        image: 'alpine:3.20',
        command: ['sh', '-c', "printf 'before\\000after\\n'; exit 3"],
      },
    )
    const pods = await createPodRuntime({ runtime: 'process' })
    const status = await runOnce(p, new Worker({ database: db.database, pipelines: [p], pods }))
    expect(status.tasks[0]).toMatchObject({ state: 'failed', attempt: 1 })
    expect(status.tasks[0]?.error).toContain('before\\u0000after')
    const lines = await taskLogLines(db.database, status.run.id, 'prints')
    expect(lines.map((l) => l.message)).toContain('[prints] before\\u0000after')
  })

  it('a statement the database refuses on its merits is recorded as failed once, not retried as an outage, and the SQL is not shown', async () => {
    // A real data error from the server (22021), raised where the end of the attempt is recorded.
    const refusing: Database = {
      ...db.database,
      rows: async (query, executor) => {
        const text = JSON.stringify(query)
        if (text.includes('), done as (') && !refused) {
          refused = true
          await db.database.rows(sql`select convert_from('\\x00'::bytea, 'UTF8')`, executor)
        }
        return db.database.rows(query, executor)
      },
    }
    let refused = false
    warnings.length = 0
    const p = pipeline('refused').task('fine', { retries: 2 }, () => 'ok')
    const status = await runOnce(
      p,
      new Worker({
        database: refusing,
        pipelines: [p],
        leaseThread: false,
        log: (_l, m) => warnings.push(m),
      }),
    )
    expect(refused).toBe(true)
    expect(status.tasks[0]).toMatchObject({ state: 'failed', attempt: 1 })
    expect(status.tasks[0]?.error).toMatch(
      /^the database refused to store the result of this attempt: invalid byte sequence for encoding "UTF8": 0x00 \(SQLSTATE 22021\)$/,
    )
    expect(warnings.join('\n')).not.toMatch(/select|params|done as/i)
  })
})
