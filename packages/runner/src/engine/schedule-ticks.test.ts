import { describe, expect, it } from 'vitest'
import { dueTicks, isoInZone, nextTick, previousTick, ticksInRange } from './schedule-ticks.js'

const paris = { cron: '30 2 * * *', timezone: 'Europe/Paris', catchup: true, maxCatchup: 100 }
const iso = (dates: Date[]) => dates.map((d) => isoInZone(d, 'Europe/Paris'))

describe('a 02:30 daily schedule in Europe/Paris across DST', () => {
  it.each([
    {
      day: 'spring-forward day (02:30 does not exist: at 03:00 CEST)',
      from: '2026-03-28T00:00:00Z',
      to: '2026-03-30T23:00:00Z',
      ticks: ['2026-03-28T02:30:00+01:00', '2026-03-29T03:00:00+02:00', '2026-03-30T02:30:00+02:00'],
    },
    {
      day: 'fall-back day (02:30 happens twice: the first)',
      from: '2026-10-24T00:00:00Z',
      to: '2026-10-26T23:00:00Z',
      ticks: ['2026-10-24T02:30:00+02:00', '2026-10-25T02:30:00+02:00', '2026-10-26T02:30:00+01:00'],
    },
  ])('runs once on the $day', ({ from, to, ticks }) => {
    expect(iso(ticksInRange(paris, new Date(from), new Date(to), 10))).toEqual(ticks)
  })

  it('catches up over both DST days with one run per day, and a data interval from the previous tick', () => {
    const missed = dueTicks(paris, new Date('2026-03-28T12:00:00Z'), new Date('2026-03-30T12:00:00Z'))
    expect(iso(missed)).toEqual(['2026-03-29T03:00:00+02:00', '2026-03-30T02:30:00+02:00'])
    // From 02:30 CET to 03:00 CEST: twenty-three and a half hours.
    const springDay = missed[0] as Date
    expect(springDay.getTime() - previousTick(paris, springDay).getTime()).toBe(23.5 * 3600_000)
    const fallBack = new Date('2026-10-26T01:30:00Z')
    expect(isoInZone(previousTick(paris, fallBack), 'Europe/Paris')).toBe('2026-10-25T02:30:00+02:00')
    expect(fallBack.getTime() - previousTick(paris, fallBack).getTime()).toBe(25 * 3600_000)
  })
})

describe('due ticks', () => {
  const everySecond = { cron: '* * * * * *', timezone: 'UTC', catchup: false, maxCatchup: 3 }
  const after = new Date('2026-01-01T00:00:00Z')
  const now = new Date('2026-01-01T00:00:10.500Z')

  it('without catchup, only the latest tick', () => {
    expect(dueTicks(everySecond, after, now).map((d) => d.toISOString())).toEqual([
      '2026-01-01T00:00:10.000Z',
    ])
  })

  it('with catchup, the newest maxCatchup ticks, oldest first', () => {
    expect(dueTicks({ ...everySecond, catchup: true }, after, now).map((d) => d.toISOString())).toEqual([
      '2026-01-01T00:00:08.000Z',
      '2026-01-01T00:00:09.000Z',
      '2026-01-01T00:00:10.000Z',
    ])
  })

  it('a tick exactly at now is due; one at the last created tick is not', () => {
    const at = new Date('2026-01-01T00:00:10Z')
    expect(dueTicks(everySecond, after, at).map((d) => d.toISOString())).toEqual(['2026-01-01T00:00:10.000Z'])
    expect(dueTicks(everySecond, at, at)).toEqual([])
  })

  it('the next tick is after its reference, in the zone', () => {
    expect(isoInZone(nextTick(paris, new Date('2026-03-29T00:00:00Z')) as Date, 'Europe/Paris')).toBe(
      '2026-03-29T03:00:00+02:00',
    )
    expect(isoInZone(new Date('2026-01-01T00:00:00.250Z'), 'UTC')).toBe('2026-01-01T00:00:00.250+00:00')
  })
})
