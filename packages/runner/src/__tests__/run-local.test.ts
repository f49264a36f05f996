import { pipeline } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { runLocal, TaskRunError } from '../index.js'
import { storeForDriver } from '../testing/index.js'

const etl = pipeline('etl', { params: z.object({ day: z.string() }) })
  .task('extract', async (_in, ctx) => ({ rows: 3, day: ctx.params.day }))
  .task('transform', { needs: ['extract'] }, async ({ extract }) => extract.rows * 2)
  .task(
    'load',
    { needs: ['extract', 'transform'] },
    async ({ extract, transform }) => `${extract.day}:${transform}`,
  )

const failing = pipeline('boom').task('explode', async () => {
  throw new Error('kaboom')
})

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`runLocal on ${driver}`, () => {
    let options: { databaseUrl?: string; dataDir?: string } = {}
    let cleanup = async () => {}
    beforeAll(async () => {
      ;({ options, cleanup } = await storeForDriver(driver))
    })
    afterAll(() => cleanup())

    it('resolves to the typed outputs of every task', async () => {
      const out = await runLocal(etl, { day: '2026-11-21' }, options)
      expect(out).toEqual({ extract: { rows: 3, day: '2026-11-21' }, transform: 6, load: '2026-11-21:6' })
    })

    it('rejects with the failing task error, stack included', async () => {
      const error = await runLocal(failing, undefined, options).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TaskRunError)
      expect((error as Error).message).toBe('task "explode" failed: kaboom')
      expect((error as Error).stack).toContain('run-local.test.ts')
    })
  })
}
