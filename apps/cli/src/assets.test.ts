import { asset, pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { podline, useCliDatabase } from './__tests__/cli.js'

const db = useCliDatabase()

const orders = asset('warehouse.orders', z.object({ date: z.string(), rows: z.number() }))
const loader = pipeline('load-orders').task('load', { produces: orders }, () => ({
  date: '2026-12-07',
  rows: 1,
}))
const report = pipeline('orders-report', { on: orders }).task(
  'sum',
  (_in, ctx) => ctx.assets['warehouse.orders'].value.rows,
)

describe('podline assets', () => {
  it('lists nothing before a pipeline declares an asset, then its producers and consumers', async () => {
    const empty = await podline(['assets'], { env: db.env })
    expect(empty).toMatchObject({ code: 0, stderr: '' })
    expect(empty.stdout).toMatch(/^no assets: a pipeline declares one with `produces` or `on`/)
    // What a worker serving them registers at its start.
    for (const p of [loader, report]) {
      const plan = p.plan()
      await db.sql`insert into podline.pipelines (name, version, plan) values (${plan.name}, ${plan.version}, ${db.sql.json(JSON.parse(JSON.stringify(plan)))})`
    }
    const listed = await podline(['assets'], { env: db.env })
    expect(listed.code).toBe(0)
    expect(listed.stdout).toBe(
      'ASSET             PRODUCED BY       CONSUMED BY    LAST EVENT  FROM\n' +
        'warehouse.orders  load-orders.load  orders-report  none yet\n',
    )
  })

  it('emit refuses a value that fails the schema with its messages (exit 2, nothing recorded), records a good one', async () => {
    const refused = await podline(['assets', 'emit', 'warehouse.orders', '--json', '{"date":"2026-12-07"}'], {
      env: db.env,
    })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toBe(
      `podline: the value for asset "warehouse.orders" failed its schema: value: must have required property 'rows'; no event was recorded.\n`,
    )
    const unknown = await podline(['assets', 'emit', 'warehouse.customers', '--json', '{}'], { env: db.env })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('no registered pipeline declares asset "warehouse.customers"')
    const [none] = await db.sql<{ n: number }[]>`select count(*)::int as n from podline.asset_events`
    expect(none?.n).toBe(0)

    const emitted = await podline(
      ['assets', 'emit', 'warehouse.orders', '--json', '{"date":"2026-12-07","rows":120}', '--print-json'],
      { env: db.env },
    )
    expect(emitted.code).toBe(0)
    const { eventId } = JSON.parse(emitted.stdout) as { eventId: string }
    const events = await podline(['assets', 'events', 'warehouse.orders', '--json'], { env: db.env })
    expect(JSON.parse(events.stdout)).toMatchObject([
      { id: eventId, asset: 'warehouse.orders', value: { date: '2026-12-07', rows: 120 }, producer: null },
    ])
    const listed = await podline(['assets'], { env: db.env })
    expect(listed.stdout).toContain(`#${eventId} `)
    expect(listed.stdout).toContain('emitted')

    // A run the event made (as a worker serving orders-report would): status names the event.
    const plan = report.plan()
    const [run] = await db.sql<{ id: string }[]>`
      insert into podline.runs (id, pipeline, version, params, state, assets, asset_event_id)
      values (gen_random_uuid(), ${plan.name}, ${plan.version}, '{}', 'queued',
              ${db.sql.json({ 'warehouse.orders': { id: eventId, value: { date: '2026-12-07', rows: 120 }, createdAt: new Date().toISOString(), producer: null } })},
              ${eventId})
      returning id`
    const status = await podline(['status', run?.id ?? ''], { env: db.env })
    expect(status.stdout).toContain(`on asset warehouse.orders: event #${eventId}, emitted\n`)
  })
})
