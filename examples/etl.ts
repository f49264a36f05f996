import { runLocal } from '@podline/runner'
import { isMain, pipeline } from '@podline/sdk'
import { z } from 'zod'

/**
 * A nightly ETL in four inline tasks. Each task's return value is stored as its XCom and handed,
 * typed, to the tasks that name it in `needs`: `transform` sees `extract.rows` as an array of
 * `{ sku, qty, price }`, and `report` (a fan-in) sees both `load` and `audit`.
 *
 *   npx tsx examples/etl.ts          runs itself (isMain is true)
 *   npx podline run examples/etl.ts  the CLI loads it and runs the default export (isMain is false)
 */
const params = z.object({
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date such as 2026-11-21')
    .default('2026-11-21'),
  minQty: z.number().int().nonnegative().default(1),
})

export const etl = pipeline('nightly-etl', { params })
  .task('extract', async (_inputs, { params, log }) => {
    const rows = [
      { sku: 'apple', qty: 3, price: 0.5 },
      { sku: 'pear', qty: 0, price: 0.75 },
      { sku: 'plum', qty: 12, price: 0.2 },
    ]
    log.info(`extracted ${rows.length} rows for ${params.date}`)
    return { source: `s3://raw/${params.date}.csv`, rows }
  })
  .task('transform', { needs: ['extract'] }, async ({ extract }, { params }) => {
    const kept = extract.rows.filter((r) => r.qty >= params.minQty)
    return {
      lines: kept.map((r) => ({ sku: r.sku, total: Math.round(r.qty * r.price * 100) / 100 })),
      dropped: extract.rows.length - kept.length,
    }
  })
  .task('audit', { needs: ['extract'] }, async ({ extract }) => ({
    source: extract.source,
    negative: extract.rows.filter((r) => r.qty < 0).length,
  }))
  .task('load', { needs: ['transform'] }, async ({ transform }, { params }) => ({
    table: `sales_${params.date.replaceAll('-', '')}`,
    inserted: transform.lines.length,
  }))
  .task('report', { needs: ['load', 'audit'] }, async ({ load, audit }) => ({
    summary: `${load.inserted} rows into ${load.table} from ${audit.source}`,
    clean: audit.negative === 0,
  }))

export default etl

if (isMain(import.meta)) console.log(await runLocal(etl, { date: '2026-11-21' }))
