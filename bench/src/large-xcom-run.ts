// One measure of bench/src/large-xcom.ts, in a process of its own so its peak RSS is its own:
// `tsx large-xcom-run.ts <store url> <bytes>` with DATABASE_URL (and the S3 environment) set;
// PEER=1 measures the store alone.
import { performance } from 'node:perf_hooks'
import { openDatabase, openXComStore, runLocal } from '@podline/runner'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'

const [storeUrl = '', bytesText = '0'] = process.argv.slice(2)
const bytes = Number(bytesText)
const s3Endpoint = process.env.PODLINE_S3_ENDPOINT
const storeOptions = s3Endpoint ? { s3Endpoint } : {}

if (process.env.PEER === '1') {
  // The peer: the same bytes written and read back through the store alone, no Podline around them.
  const body = Buffer.alloc(bytes + 2, 'x')
  body[0] = 0x22
  body[bytes + 1] = 0x22
  const store = await openXComStore(storeUrl, storeOptions)
  const peerStart = performance.now()
  await store.put('bench/peer.json', body)
  const back = await store.get('bench/peer.json')
  const ms = performance.now() - peerStart
  if (back.length !== body.length) throw new Error('the peer read back fewer bytes than it wrote')
  await store.delete(['bench/peer.json'])
  await store.close()
  process.stdout.write(`${JSON.stringify({ ms, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`)
  process.exit(0)
}

const database = await openDatabase({ databaseUrl: process.env.DATABASE_URL ?? '' })
const p = pipeline('bench-large-xcom')
  .task('make', () => 'x'.repeat(bytes))
  .task('measure', { needs: ['make'] }, ({ make }) => make.length)
const start = performance.now()
const out = await runLocal(p, {}, { database, xcomStore: storeUrl, ...storeOptions })
const ms = performance.now() - start
if (out.measure !== bytes) throw new Error(`the downstream task saw ${out.measure} characters, not ${bytes}`)
const [row] = await database.rows<{ bytes: number }>(sql`
  select octet_length(value::text) as bytes from podline.xcoms where task = 'make' order by run_id limit 1`)
await database.close()
process.stdout.write(
  `${JSON.stringify({ ms, rowBytes: row?.bytes ?? 0, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
)
