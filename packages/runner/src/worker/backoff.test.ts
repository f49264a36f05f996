import { describe, expect, it } from 'vitest'
import { Backoff } from './backoff.js'

describe('Backoff, the one backoff of the claim and completion loops', () => {
  it('doubles up to its ceiling and starts again after a success', () => {
    const backoff = new Backoff(100, 500)
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400, 500])
    backoff.reset()
    expect(backoff.next()).toBe(100)
  })
})
