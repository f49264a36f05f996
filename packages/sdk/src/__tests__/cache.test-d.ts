import { pipeline } from '@podline/sdk'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'

describe('cache option types', () => {
  it('types the key function by the task’s inputs and the run’s params', () => {
    pipeline('cached', { params: z.object({ day: z.string() }) })
      .task('read', () => ({ file: 'a.csv', at: 1 }))
      .task(
        'parse',
        {
          needs: ['read'],
          cache: {
            version: '1',
            ttl: '7d',
            key: (inputs, ctx) => {
              expectTypeOf(inputs).toEqualTypeOf<{ read: { file: string; at: number } }>()
              expectTypeOf(ctx.params).toEqualTypeOf<{ day: string }>()
              return `${inputs.read.file}@${ctx.params.day}`
            },
          },
        },
        ({ read }) => read.file,
      )
      .pod('score', { cache: { version: '2' } }, { image: 'alpine:3.20' })
  })
})
