import { type JsonValue, json, type OutputsOf, pipeline } from '@podline/sdk'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'

describe('type inference', () => {
  it('flows outputs from task to task without annotations', () => {
    const p = pipeline('demo', { params: z.object({ day: z.string() }) })
      .task('a', async (_in, ctx) => ({ n: 1, s: ctx.params.day }))
      .task('b', { needs: ['a'] }, async ({ a }) => a.n + 1)
      .pod('c', { needs: ['a', 'b'], output: z.object({ count: z.number() }) }, ({ a, b }) => ({
        image: 'alpine:3.20',
        command: ['sh', '-c', `echo ${a.s} ${b}`],
      }))
      .task('d', { needs: ['c'] }, async ({ c }) => c.count)

    expectTypeOf<OutputsOf<typeof p>>().toEqualTypeOf<{
      a: { n: number; s: string }
      b: number
      c: { count: number }
      d: number
    }>()
  })

  it('types a pod output from json<T>() and defaults to JsonValue', () => {
    const p = pipeline('pods')
      .pod('typed', { output: json<{ rows: number }>() }, { image: 'alpine:3.20' })
      .pod('untyped', {}, { image: 'alpine:3.20' })
    expectTypeOf<OutputsOf<typeof p>['typed']>().toEqualTypeOf<{ rows: number }>()
    expectTypeOf<OutputsOf<typeof p>['untyped']>().toEqualTypeOf<JsonValue>()
  })

  it('refuses what the rules forbid', () => {
    const p = pipeline('demo')
      .task('a', async () => ({ n: 1, s: 'x' }))
      .task('b', { needs: ['a'] }, async ({ a }) => a.n + 1)

    // @ts-expect-error a field the upstream does not return
    p.task('x1', { needs: ['a'] }, ({ a }) => a.missing)
    // @ts-expect-error needs names an unknown task
    p.task('x2', { needs: ['zzz'] }, () => 1)
    // @ts-expect-error a duplicate task name
    p.task('a', async () => 1)
    // @ts-expect-error reading an upstream that is not in needs
    p.task('e', { needs: ['a'] }, ({ b }) => b)
    // @ts-expect-error a function is not JSON
    p.task('f', async () => () => 1)
    // @ts-expect-error a Date is not JSON
    p.task('g', () => ({ at: new Date() }))
    // @ts-expect-error a Map is not JSON
    p.task('h', () => new Map<string, number>())
    // @ts-expect-error a bigint is not JSON
    p.task('i', () => 1n)
    // @ts-expect-error undefined at top level is not JSON
    p.task('j', () => undefined)
    // @ts-expect-error a name with capitals cannot be part of a Kubernetes name
    p.task('Load', () => 1)
    // @ts-expect-error underscores are not allowed either
    p.task('load_orders', () => 1)
  })
})
