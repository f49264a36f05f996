import { runLocal, TaskRunError } from '@podline/runner'
import { useFreshDatabase } from '@podline/runner/testing/vitest'
import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'

describe('a task that ignores its signal', () => {
  const db = useFreshDatabase()

  it('a retry of a timed-out task does not start while the old attempt is still running', async () => {
    const spans: Array<{ attempt: number; start: number; end?: number }> = []
    const stubborn = pipeline('stubborn').task(
      'slow',
      { timeout: '200ms', retries: 1, retryDelay: '10ms' },
      async (_inputs, ctx) => {
        const span: { attempt: number; start: number; end?: number } = {
          attempt: ctx.attempt,
          start: performance.now(),
        }
        spans.push(span)
        // Ignores ctx.signal: goes on for a while after the timeout fired.
        await new Promise((resolve) => setTimeout(resolve, 1000))
        span.end = performance.now()
        return 'finished anyway'
      },
    )
    const error = await runLocal(stubborn, {}, { database: db.database, concurrency: 4 }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(TaskRunError)
    expect((error as Error).message).toMatch(/timed out after 200 ms \(attempt 2/)
    const [first, second] = spans
    expect(spans.map((s) => s.attempt)).toEqual([1, 2])
    expect(first?.end).toBeDefined()
    expect(second?.start).toBeGreaterThanOrEqual(first?.end ?? Number.POSITIVE_INFINITY)
  })
})
