import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'

describe('schedule checks at definition', () => {
  it('puts the schedule in the plan (and so in the version), without the params function', () => {
    const p = pipeline('nightly', {
      schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris', params: () => undefined },
    })
    expect(p.plan().schedule).toEqual({
      cron: '0 3 * * *',
      timezone: 'Europe/Paris',
      catchup: false,
      maxCatchup: 100,
    })
    expect(pipeline('nightly').plan().version).not.toBe(p.plan().version)
    expect(pipeline('nightly', { schedule: { cron: '0 4 * * *' } }).plan().version).not.toBe(p.plan().version)
    expect(p.schedule?.params).toBeTypeOf('function')
  })

  it('a pipeline without a schedule keeps the version it had', () => {
    expect(pipeline('plain').plan()).not.toHaveProperty('schedule')
  })

  it('a bad cron, zone or option fails when the pipeline is defined, naming it', () => {
    expect(() => pipeline('p', { schedule: { cron: '0 3 * *' } })).toThrow(
      /pipeline "p": schedule is invalid: .*five, six, or seven .*cron '0 3 \* \*'/,
    )
    expect(() => pipeline('p', { schedule: { cron: '0 3 * * *', timezone: 'Mars/Base' } })).toThrow(
      /schedule is invalid: .*Mars\/Base/,
    )
    expect(() => pipeline('p', { schedule: { cron: '0 3 * * *', maxCatchup: 0 } })).toThrow(
      'pipeline "p": schedule.maxCatchup must be a positive integer, got 0',
    )
    expect(() => pipeline('p', { schedule: { cron: '0 3 * * *', timeZone: 'UTC' } as never })).toThrow(
      'pipeline "p": schedule: unknown option "timeZone"; the options are cron, timezone, catchup, maxCatchup, params',
    )
  })
})
