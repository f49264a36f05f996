import { describe, expect, it } from 'vitest'
import { Backoff } from './backoff.js'

describe('Backoff, the one backoff of the loops that wait out an outage', () => {
  it('doubles up to its ceiling and starts again after a success', () => {
    const backoff = new Backoff(100, 500)
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400, 500])
    backoff.reset()
    expect(backoff.next()).toBe(100)
  })

  it('spreads each delay by its jitter, never past it', () => {
    const delays = Array.from({ length: 200 }, () => new Backoff(1000, 10_000, { jitter: 0.2 }).next())
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(800)
    expect(Math.max(...delays)).toBeLessThanOrEqual(1200)
    expect(new Set(delays).size).toBeGreaterThan(1)
  })
})
