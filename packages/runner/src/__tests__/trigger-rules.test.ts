import type { TriggerRule } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { IllegalTransitionError, nextTaskState } from '../engine/task-state-machine.js'
import { decidePromotion } from '../engine/trigger-rules.js'

const counts = (success: number, failed: number, skipped: number, running: number) => ({
  total: success + failed + skipped + running,
  success,
  failed,
  skipped,
  done: success + failed + skipped,
})

describe('decidePromotion', () => {
  const cases: Array<[TriggerRule, ReturnType<typeof counts>, string]> = [
    ['all_success', counts(2, 0, 0, 0), 'queue'],
    ['all_success', counts(1, 0, 0, 1), 'wait'],
    ['all_success', counts(0, 1, 0, 1), 'upstream_failed'],
    ['all_success', counts(1, 0, 1, 0), 'skip'],
    ['all_done', counts(1, 1, 0, 0), 'queue'],
    ['all_done', counts(1, 0, 0, 1), 'wait'],
    ['all_failed', counts(0, 2, 0, 0), 'queue'],
    ['all_failed', counts(1, 0, 0, 1), 'skip'],
    ['all_failed', counts(0, 1, 0, 1), 'wait'],
    ['one_success', counts(1, 0, 0, 1), 'queue'],
    ['one_success', counts(0, 2, 0, 0), 'upstream_failed'],
    ['one_success', counts(0, 0, 2, 0), 'skip'],
    ['one_failed', counts(0, 1, 0, 1), 'queue'],
    ['one_failed', counts(2, 0, 0, 0), 'skip'],
    ['one_failed', counts(1, 0, 0, 1), 'wait'],
    ['none_failed', counts(1, 0, 1, 0), 'queue'],
    ['none_failed', counts(0, 1, 0, 1), 'upstream_failed'],
    ['none_failed', counts(1, 0, 0, 1), 'wait'],
  ]
  it.each(cases)('%s with %o → %s', (rule, c, expected) => {
    expect(decidePromotion(rule, c)).toBe(expected)
  })
})

describe('nextTaskState', () => {
  it('follows the documented transitions', () => {
    expect(nextTaskState('queued', { type: 'claim' })).toBe('running')
    expect(nextTaskState('up_for_retry', { type: 'claim' })).toBe('running')
    expect(nextTaskState('running', { type: 'fail', retryable: true })).toBe('up_for_retry')
    expect(nextTaskState('running', { type: 'fail', retryable: false })).toBe('failed')
    expect(nextTaskState('running', { type: 'lease_expired', exhausted: false })).toBe('queued')
    expect(nextTaskState('pending', { type: 'promote', to: 'upstream_failed' })).toBe('upstream_failed')
    expect(nextTaskState('failed', { type: 'retry', upstreamsReady: false })).toBe('pending')
  })
  it('refuses the rest', () => {
    expect(() => nextTaskState('success', { type: 'succeed' })).toThrow(IllegalTransitionError)
    expect(() => nextTaskState('pending', { type: 'claim' })).toThrow(
      'a task run in state pending cannot claim',
    )
  })
})
