// One measure of bench/src/pod-xcom.ts, in a process of its own so its peak RSS is the worker's:
// `tsx pod-xcom-run.ts <process|kubernetes> <store url> <bytes>` with DATABASE_URL (the S3
// environment and KUBECONFIG for the double) set. PEER=1 runs the pod's work without Podline: the
// same shell writes the file, hashes it and copies it to the store (cp, or curl to a presigned URL).
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import {
  createPodRuntime,
  openDatabase,
  openXComStorage,
  openXComStore,
  triggerPipeline,
  Worker,
  waitForRun,
} from '@podline/runner'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'

const [runtime = 'process', storeUrl = '', bytesText = '0'] = process.argv.slice(2)
const bytes = Number(bytesText)
const s3Endpoint = process.env.PODLINE_S3_ENDPOINT
const storeOptions = s3Endpoint ? { s3Endpoint } : {}
/** A JSON string of `bytes` a's: what the pod writes to its result file. */
const write = (path: string) =>
  `printf '"' >${path} && head -c ${bytes} /dev/zero | tr '\\0' a >>${path} && printf '"' >>${path}`

// The value's sha256, computed here in chunks: what the stored object must hash to.
const expected = createHash('sha256').update('"')
const chunk = 'a'.repeat(1 << 20)
for (let left = bytes; left > 0; left -= chunk.length)
  expected.update(left >= chunk.length ? chunk : chunk.slice(0, left))
const sha256 = expected.update('"').digest('hex')
const rss = () => process.resourceUsage().maxRSS / 1024

if (process.env.PEER === '1') {
  const store = await openXComStore(storeUrl, storeOptions)
  const target = await store.transferTarget('bench/peer.json', 'put', 3600)
  const dir = mkdtempSync(join(tmpdir(), 'podline-bench-peer-'))
  const file = join(dir, 'return.json')
  const copy =
    target.kind === 'path'
      ? `cp ${file} '${target.path}'`
      : target.kind === 'url'
        ? `curl -sS --fail --upload-file ${file} '${target.url}'`
        : 'false'
  const start = performance.now()
  const { stdout } = await promisify(execFile)('sh', ['-c', `${write(file)} && sha256sum ${file} && ${copy}`])
  const ms = performance.now() - start
  if (!stdout.startsWith(sha256)) throw new Error(`the peer wrote a file with another sha256: ${stdout}`)
  await store.delete(['bench/peer.json'])
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  process.stdout.write(`${JSON.stringify({ ms, peakRssMb: rss() })}\n`)
  process.exit(0)
}

const database = await openDatabase({ databaseUrl: process.env.DATABASE_URL ?? '' })
const p = pipeline(`bench-pod-xcom-${runtime}`).pod(
  'make',
  { onFinish: 'delete_pod' },
  {
    image: 'alpine:3.20',
    command: ['sh', '-c', write('"$PODLINE_XCOM_PATH"')],
  },
)
// A Worker, not runLocal: runLocal reads every output back at the end, which is not the worker's cost.
const xcoms = await openXComStorage({ xcomStore: storeUrl, ...storeOptions }, database)
const start = performance.now()
const runId = await triggerPipeline(database, p, {})
const worker = new Worker({
  database,
  pipelines: [p],
  runId,
  ...(xcoms ? { xcoms } : {}),
  pods: await createPodRuntime({
    runtime: runtime === 'kubernetes' ? 'kubernetes' : 'process',
    ...(runtime === 'kubernetes' ? { kube: { kubeconfig: process.env.KUBECONFIG ?? '' } } : {}),
  }),
  pollMs: 200,
})
await worker.start()
const ended = await waitForRun(database, runId, { pollMs: 200 })
const ms = performance.now() - start
await worker.stop({ drainMs: 5000 })
await xcoms?.store.close()
if (ended !== 'success') throw new Error(`the run ended ${ended}`)
// The worker's: taken before this process checks the stored object itself.
const peakRssMb = rss()
const [row] = await database.rows<{ size: number; sha256: string; key: string }>(sql`
  select (value -> '$podline' ->> 'size')::bigint as size, value -> '$podline' ->> 'sha256' as sha256,
         value -> '$podline' ->> 'key' as key
  from podline.xcoms where run_id = ${runId}::uuid and task = 'make' and key = 'return_value'`)
await database.close()
if (Number(row?.size) !== bytes + 2 || row?.sha256 !== sha256)
  throw new Error(
    `the recorded reference is ${JSON.stringify(row)}, expected ${bytes + 2} bytes with sha256 ${sha256}`,
  )
// The stored object itself, streamed: what a downstream reader gets.
const store = await openXComStore(storeUrl, storeOptions)
const check = createHash('sha256')
for await (const part of await store.stream(row.key)) check.update(part as Buffer)
await store.close()
if (check.digest('hex') !== sha256) throw new Error('the stored object does not hash to the value written')
process.stdout.write(`${JSON.stringify({ ms, peakRssMb })}\n`)
