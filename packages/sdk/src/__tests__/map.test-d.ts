import { type OutputsOf, pipeline, type RunOutputsOf } from '@podline/sdk'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'

describe('mapped tasks', () => {
  it('types the item from over, and the output downstream as the array of the items outputs', () => {
    const p = pipeline('per-file')
      .task('list', async () => ({ files: ['a.csv', 'b.csv', 'c.csv'] }))
      .map(
        'count',
        { needs: ['list'], over: ({ list }) => list.files, maxParallel: 2, retries: 2 },
        async (file, inputs, ctx) => {
          expectTypeOf(file).toEqualTypeOf<string>()
          expectTypeOf(inputs.list).toEqualTypeOf<{ files: string[] }>()
          expectTypeOf(ctx.mapIndex).toEqualTypeOf<number | undefined>()
          return { file, rows: file.length, index: ctx.mapIndex ?? -1 }
        },
      )
      .mapPod(
        'score',
        { needs: ['list'], over: ({ list }) => list.files, output: z.object({ score: z.number() }) },
        (file, inputs) => {
          expectTypeOf(file).toEqualTypeOf<string>()
          expectTypeOf(inputs).toEqualTypeOf<{ list: { files: string[] } }>()
          return { image: 'python:3.12-slim', command: ['python', 'score.py', file] }
        },
      )
      .task('total', { needs: ['count', 'score'] }, async ({ count, score }) => {
        expectTypeOf(count).toEqualTypeOf<{ file: string; rows: number; index: number }[]>()
        expectTypeOf(score).toEqualTypeOf<{ score: number }[]>()
        return count.reduce((s, c) => s + c.rows, 0) + score.length
      })
    expectTypeOf<OutputsOf<typeof p>['count']>().toEqualTypeOf<
      { file: string; rows: number; index: number }[]
    >()
    expectTypeOf<RunOutputsOf<typeof p>['total']>().toEqualTypeOf<number>()
  })

  it('maps over objects, literals and lists that need no upstream', () => {
    const p = pipeline('objects')
      .task('list', () => [{ id: 1, uri: 's3://a' }])
      .map('fetch', { needs: ['list'], over: ({ list }) => list }, (item) => {
        expectTypeOf(item).toEqualTypeOf<{ id: number; uri: string }>()
        return item.id
      })
      .map('fixed', { over: () => ['x', 'y'] as const }, (item) => {
        expectTypeOf(item).toEqualTypeOf<'x' | 'y'>()
        return item
      })
      .mapPod('untyped', { over: () => [1, 2] }, (n) => ({ image: 'alpine:3.20', args: [String(n)] }))
    expectTypeOf<OutputsOf<typeof p>['fetch']>().toEqualTypeOf<number[]>()
    expectTypeOf<OutputsOf<typeof p>['fixed']>().toEqualTypeOf<('x' | 'y')[]>()
  })

  it('a tolerant trigger rule makes the inputs of over possibly undefined', () => {
    pipeline('rules')
      .task('list', () => ({ files: ['a'] }))
      .map(
        'm',
        { needs: ['list'], triggerRule: 'all_done', over: ({ list }) => list?.files ?? [] },
        (file) => {
          expectTypeOf(file).toEqualTypeOf<string>()
          return file
        },
      )
  })
})
