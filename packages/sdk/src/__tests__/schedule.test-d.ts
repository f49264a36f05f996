import { pipeline, type ScheduleTick } from '@podline/sdk'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'

describe('schedule types', () => {
  it('types schedule.params against the params input, and ctx.schedule as the tick or undefined', () => {
    pipeline('nightly', {
      params: z.object({ date: z.string(), limit: z.number().default(10) }),
      schedule: {
        cron: '0 3 * * *',
        timezone: 'Europe/Paris',
        catchup: true,
        params: (tick) => {
          expectTypeOf(tick).toEqualTypeOf<ScheduleTick>()
          return { date: tick.logicalDate.slice(0, 10) }
        },
      },
    }).task('t', async (_in, ctx) => {
      expectTypeOf(ctx.schedule).toEqualTypeOf<ScheduleTick | undefined>()
      return ctx.params.limit
    })
  })

  it('refuses params that do not meet the schema', () => {
    pipeline('nightly', {
      params: z.object({ date: z.string() }),
      // @ts-expect-error date must be a string
      schedule: { cron: '0 3 * * *', params: () => ({ date: 3 }) },
    })
  })

  it('requires schedule.params when the params cannot be omitted, and not otherwise', () => {
    pipeline('nightly', {
      params: z.object({ date: z.string() }),
      // @ts-expect-error the run's params must come from somewhere
      schedule: { cron: '0 3 * * *' },
    })
    pipeline('hourly', { schedule: { cron: '0 * * * *' } })
  })
})
