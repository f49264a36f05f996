import {
  type JsonValue,
  json,
  type OutputsOf,
  pipeline,
  type RunOutputsOf,
  type StoredInput,
} from '@podline/sdk'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'

describe('type inference', () => {
  it('types ctx.inputUrl of a pod spec by the needs, for pods and mapped pods', () => {
    pipeline('inputs')
      .task('a', () => ({ n: 1 }))
      .task('list', () => ['x', 'y'])
      .pod('p', { needs: ['a'] }, async (_inputs, ctx) => {
        expectTypeOf(ctx.inputUrl).parameter(0).toEqualTypeOf<'a'>()
        expectTypeOf(await ctx.inputUrl('a')).toEqualTypeOf<StoredInput | undefined>()
        // @ts-expect-error: only a needed task has an input
        await ctx.inputUrl('list')
        return { image: 'alpine:3.20' }
      })
      .mapPod('m', { needs: ['list', 'a'], over: ({ list }) => list }, async (_item, _inputs, ctx) => {
        expectTypeOf(ctx.inputUrl).parameter(0).toEqualTypeOf<'list' | 'a'>()
        return { image: 'alpine:3.20' }
      })
  })

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

  // What must not compile, and the message it gives, is in type-errors.test.ts.

  it('optional fields and unions read as in plain TypeScript', () => {
    const p = pipeline('optional')
      .task('a', (): { n: number; note?: string; kind: 'x' | 'y' | null } => ({ n: 1, kind: null }))
      .task('b', { needs: ['a'] }, ({ a }) => ({ note: a.note ?? 'none', kind: a.kind ?? 'x' }))
    expectTypeOf<OutputsOf<typeof p>['b']>().toEqualTypeOf<{ note: string; kind: 'x' | 'y' }>()
  })

  it('a task whose trigger rule runs it after a failed or skipped upstream sees T | undefined', () => {
    const p = pipeline('rules')
      .task('a', () => ({ n: 1 }))
      .task('b', { needs: ['a'] }, ({ a }) => {
        expectTypeOf(a).toEqualTypeOf<{ n: number }>()
        return a.n
      })
    // Each rule on its own, so a rule dropped from the tolerant list fails here.
    const reads = (a: { n: number } | undefined, b: number | undefined) => a?.n ?? b ?? 0
    p.task('c1', { needs: ['a', 'b'], triggerRule: 'all_done' }, ({ a, b }) => {
      expectTypeOf(a).toEqualTypeOf<{ n: number } | undefined>()
      expectTypeOf(b).toEqualTypeOf<number | undefined>()
      return reads(a, b)
    })
    p.task('c2', { needs: ['a', 'b'], triggerRule: 'all_failed' }, ({ a, b }) => {
      expectTypeOf(a).toEqualTypeOf<{ n: number } | undefined>()
      return reads(a, b)
    })
    p.task('c3', { needs: ['a', 'b'], triggerRule: 'one_failed' }, ({ a, b }) => {
      expectTypeOf(a).toEqualTypeOf<{ n: number } | undefined>()
      return reads(a, b)
    })
    p.task('c4', { needs: ['a', 'b'], triggerRule: 'one_success' }, ({ a, b }) => {
      expectTypeOf(a).toEqualTypeOf<{ n: number } | undefined>()
      return reads(a, b)
    })
    p.task('c5', { needs: ['a', 'b'], triggerRule: 'none_failed' }, ({ a, b }) => {
      expectTypeOf(a).toEqualTypeOf<{ n: number } | undefined>()
      return reads(a, b)
    })
    p.task('c6', { needs: ['a', 'b'], triggerRule: 'all_success' }, ({ a, b }) => {
      expectTypeOf(a).toEqualTypeOf<{ n: number }>()
      expectTypeOf(b).toEqualTypeOf<number>()
      return reads(a, b)
    })
    p.pod('d', { needs: ['a'], triggerRule: 'all_done' }, ({ a }) => {
      expectTypeOf(a).toEqualTypeOf<{ n: number } | undefined>()
      return { image: 'alpine:3.20' }
    })
  })

  it('runLocal does not promise outputs that a successful run can lack', () => {
    // Only all_success tasks and no skipping pods: a successful run has every output.
    const plain = pipeline('plain')
      .task('a', () => 1)
      .task('b', { needs: ['a'] }, ({ a }) => a + 1)
    expectTypeOf<RunOutputsOf<typeof plain>>().toEqualTypeOf<{ a: number; b: number }>()

    // A pod that can skip itself, and the all_success task after it, may be absent; an all_done
    // task runs however its upstreams ended, and every task before it may have failed.
    const skipping = pipeline('skipping')
      .task('a', () => 1)
      .pod('p', { needs: ['a'], skipOnExitCode: 99, output: json<{ k: number }>() }, { image: 'alpine:3.20' })
      .task('after', { needs: ['p'] }, ({ p }) => p.k)
      .task('other', { needs: ['a'] }, ({ a }) => a)
    expectTypeOf<RunOutputsOf<typeof skipping>>().toEqualTypeOf<{
      a: number
      other: number
      p?: { k: number }
      after?: number
    }>()
    const tolerant = skipping.task('cleanup', { needs: ['other'], triggerRule: 'all_done' }, () => true)
    expectTypeOf<RunOutputsOf<typeof tolerant>>().toEqualTypeOf<{
      a?: number
      other?: number
      p?: { k: number }
      after?: number
      cleanup: boolean
    }>()
    const onFailure = plain.task('alert', { needs: ['b'], triggerRule: 'one_failed' }, () => 'sent')
    expectTypeOf<RunOutputsOf<typeof onFailure>>().toEqualTypeOf<{ a?: number; b?: number; alert?: string }>()
  })
})
