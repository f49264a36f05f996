import { type AssetEvent, all, any, asset, type JsonValue, pipeline } from '@podline/sdk'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'

const orders = asset('warehouse.orders', z.object({ date: z.string(), rows: z.number() }))
const customers = asset('crm.customers', z.object({ count: z.number() }))

describe('asset types', () => {
  it('types ctx.assets by the pipeline’s on: one asset, all of several, any of several', () => {
    pipeline('one', { on: orders }).task('t', (_inputs, ctx) => {
      expectTypeOf(ctx.assets['warehouse.orders']).toEqualTypeOf<AssetEvent<{ date: string; rows: number }>>()
      expectTypeOf(ctx.assets['warehouse.orders'].value.rows).toEqualTypeOf<number>()
      // @ts-expect-error: the pipeline does not run on customers
      void ctx.assets['crm.customers']
      return 1
    })
    pipeline('both', { on: all(orders, customers) })
      .task('a', () => 1)
      .task('t', { needs: ['a'] }, (_inputs, ctx) => {
        expectTypeOf(ctx.assets['crm.customers'].value.count).toEqualTypeOf<number>()
        expectTypeOf(ctx.assets['warehouse.orders'].producer).toEqualTypeOf<{
          readonly pipeline: string
          readonly runId: string
          readonly task: string
        } | null>()
        return 1
      })
    pipeline('either', { on: any(orders, customers) }).pod('p', {}, (_inputs, ctx) => {
      expectTypeOf(ctx.assets['crm.customers']).toEqualTypeOf<AssetEvent<{ count: number }> | undefined>()
      return { image: 'alpine:3.20' }
    })
    pipeline('none').task('t', (_inputs, ctx) => {
      expectTypeOf(ctx.assets).toEqualTypeOf<{}>()
      return 1
    })
  })

  it('accepts an output of the produced asset’s type, from tasks, pods and mapped tasks', () => {
    pipeline('producer')
      .task('load', { produces: orders }, async () => ({ date: '2026-12-07', rows: 3 }))
      .task('both', { produces: [orders] }, () => ({ date: 'd', rows: 1, extra: true }))
      .pod('p', { output: z.object({ count: z.number() }), produces: customers }, { image: 'alpine:3.20' })
      .map('m', { over: () => [1, 2] }, (n) => n)
      .task('after', { needs: ['load', 'p', 'm'] }, ({ load, p, m }) => {
        expectTypeOf(load).toEqualTypeOf<{ date: string; rows: number }>()
        expectTypeOf(p).toEqualTypeOf<{ count: number }>()
        expectTypeOf(m).toEqualTypeOf<number[]>()
        return null satisfies JsonValue
      })
  })
})
