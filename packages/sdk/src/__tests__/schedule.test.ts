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
      /pipeline "p": schedule is invalid: the cron has 4 fields \(cron '0 3 \* \*', .*a cron has five fields/,
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

describe('schedules that would never run', () => {
  it('a cron whose date never comes is refused at definition, with the reason', () => {
    expect(() => pipeline('p', { schedule: { cron: '0 3 30 2 *' } })).toThrow(
      /pipeline "p": schedule is invalid: it never fires: no date matches it \(a day its months do not have, such as February 30/,
    )
    expect(() =>
      pipeline('p', { schedule: { cron: '0 0 31 4,6,9,11 *', timezone: 'Europe/Paris' } }),
    ).toThrow(/it never fires.*\(cron '0 0 31 4,6,9,11 \*', timezone 'Europe\/Paris'/)
  })

  it('seven fields (croner reads the seventh as years) are refused: a cron has five or six', () => {
    expect(() => pipeline('p', { schedule: { cron: '0 0 3 * * * 2027' } })).toThrow(
      /pipeline "p": schedule is invalid: the cron has 7 fields .*a cron has five fields \(minute hour day-of-month month day-of-week\), or six with seconds first/,
    )
  })

  it('rare but real dates are accepted: February 29, the last day of the month, a nickname', () => {
    for (const cron of ['0 0 29 2 *', '0 0 L 2 *', '*/2 * * * * *', '@daily'])
      expect(pipeline('p', { schedule: { cron } }).plan().schedule?.cron).toBe(cron)
  })
})
