import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { freshDatabase } from '@podline/runner/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { podline, type Running, start, tempDir, waitUntil } from '../../apps/cli/src/__tests__/cli.js'

const TRACED = fileURLToPath(new URL('./fixtures/traced.ts', import.meta.url))

/** A span as the OTLP/HTTP JSON exporter sends it (ids in hex, attributes as typed values). */
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  attributes: {
    key: string
    value: { stringValue?: string; intValue?: number | string; boolValue?: boolean }
  }[]
}
interface Received {
  service: string
  span: OtlpSpan
}

// An OTLP/HTTP receiver, as small as it can be: the JSON encoding is the exporter's default.
const received: Received[] = []
const contentTypes = new Set<string>()
const receiver = createServer(async (req, res) => {
  const body = await text(req)
  contentTypes.add(String(req.headers['content-type']))
  if (req.url === '/v1/traces' && String(req.headers['content-type']).startsWith('application/json')) {
    const { resourceSpans = [] } = JSON.parse(body) as {
      resourceSpans?: {
        resource: { attributes: OtlpSpan['attributes'] }
        scopeSpans: { spans: OtlpSpan[] }[]
      }[]
    }
    for (const rs of resourceSpans) {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? ''
      for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ service, span })
    }
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
})

function text(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => {
      s += d
    })
    req.on('end', () => resolve(s))
    req.on('error', reject)
  })
}

const attr = (span: OtlpSpan, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value
  return v?.stringValue ?? (v?.intValue === undefined ? v?.boolValue : Number(v.intValue))
}

let db: Awaited<ReturnType<typeof freshDatabase>>
let sql: postgres.Sql
let env: Record<string, string>
const workers: Running[] = []

beforeAll(async () => {
  db = await freshDatabase()
  sql = postgres(db.url, { max: 1, onnotice: () => {} })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const { port } = receiver.address() as AddressInfo
  env = { DATABASE_URL: db.url, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }
})
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
  receiver.close()
  await sql?.end()
  await db?.drop()
})

it('one trace holds the run, every attempt from whichever of two workers ran it, the pod phases, and the TRACEPARENT the pod saw', async () => {
  for (const name of ['a', 'b']) {
    const w = start(['worker', TRACED, '--runtime', 'process', '--concurrency', '1'], {
      env: { ...env, OTEL_SERVICE_NAME: `worker-${name}` },
    })
    workers.push(w)
    await w.waitFor(/started on/)
  }
  const dir = tempDir()
  const t = await podline(['trigger', 'traced', '--params', JSON.stringify({ dir }), '--wait', '--json'], {
    env,
  })
  expect(t.code, t.stderr + t.stdout).toBe(0)
  const { runId } = JSON.parse(t.stdout) as { runId: string }
  // Workers export what is buffered when they stop.
  for (const w of workers) w.child.kill('SIGTERM')
  for (const w of workers) expect(await w.exited, w.output()).toBe(0)

  const spans = await waitUntil('the run, its three attempts and the pod phases at the receiver', () => {
    const names = received.map((r) => r.span.name)
    const attempts = names.filter((n) => n.startsWith('task ')).length
    const finishes = names.filter((n) => n === 'attempt finish').length
    return names.includes('run traced') &&
      attempts === 3 &&
      finishes === 3 &&
      names.includes('pod sidecar read')
      ? received
      : undefined
  })
  expect(
    [...contentTypes].every((c) => c.startsWith('application/json')),
    [...contentTypes].join(),
  ).toBe(true)
  const run = spans.find((r) => r.span.name === 'run traced')
  expect(run?.service).toBe('podline')
  expect(attr(run!.span, 'podline.run_id')).toBe(runId)
  const traceId = run!.span.traceId
  const inTrace = spans.filter((r) => r.span.traceId === traceId)
  // Everything the run did is in its trace, and nothing else is.
  expect(inTrace.length).toBe(spans.length)

  const attempts = inTrace.filter((r) => r.span.name.startsWith('task '))
  expect(
    attempts
      .map(
        (r) =>
          `${attr(r.span, 'podline.task')}#${attr(r.span, 'podline.attempt')} ${attr(r.span, 'podline.outcome')}`,
      )
      .sort(),
  ).toEqual(['inline#1 up_for_retry', 'inline#2 success', 'pod#1 success'])
  for (const a of attempts) {
    expect(a.span.parentSpanId).toBe(run!.span.spanId)
    expect(attr(a.span, 'podline.run_id')).toBe(runId)
    expect(attr(a.span, 'podline.pipeline')).toBe('traced')
    expect(attr(a.span, 'podline.version')).toEqual(expect.any(String))
  }
  // Each worker exported the attempts it ran, into the run's one trace. (A pod holds no inline slot,
  // so one worker of concurrency 1 may run both tasks at once: which worker ran which is not fixed.)
  const workerOf = new Map<string, string>()
  for (const r of attempts) {
    const worker = String(attr(r.span, 'podline.worker'))
    expect(workerOf.get(worker) ?? r.service, `worker ${worker} exported from one service`).toBe(r.service)
    workerOf.set(worker, r.service)
  }
  expect([...workerOf.values()].every((service) => ['worker-a', 'worker-b'].includes(service))).toBe(true)
  const pod = attempts.find((r) => attr(r.span, 'podline.task') === 'pod')!
  const inline = attempts.find((r) => attr(r.span, 'podline.attempt') === 2)!

  // The wait before each claim, beside its attempt.
  const waits = inTrace.filter((r) => r.span.name.startsWith('queued '))
  expect(waits.map((r) => `${r.span.name}#${attr(r.span, 'podline.attempt')}`).sort()).toEqual([
    'queued inline#1',
    'queued inline#2',
    'queued pod#1',
  ])
  for (const w of waits) expect(w.span.parentSpanId).toBe(run!.span.spanId)

  const phases = inTrace.filter((r) => r.span.name.startsWith('pod '))
  expect(phases.map((r) => r.span.name).sort()).toEqual(['pod create', 'pod running', 'pod sidecar read'])
  for (const p of phases) expect(p.span.parentSpanId).toBe(pod.span.spanId)

  // XCom I/O: the pod's names it stores, and each attempt's end (which stores its return_value).
  const stores = inTrace.filter((r) => r.span.name === 'xcom store')
  expect(stores.map((r) => attr(r.span, 'podline.xcom_key')).sort()).toEqual(['pod_name', 'pod_namespace'])
  for (const s of stores) expect(s.span.parentSpanId).toBe(pod.span.spanId)
  const finishes = inTrace.filter((r) => r.span.name === 'attempt finish')
  expect(finishes.map((r) => r.span.parentSpanId).sort()).toEqual(attempts.map((a) => a.span.spanId).sort())

  // The pod was handed the context of its attempt's span.
  const [xcom] = await sql<{ value: { traceparent: string } }[]>`
    select value from podline.xcoms where run_id = ${runId}::uuid and task = 'pod' and key = 'return_value'`
  expect(xcom?.value.traceparent).toBe(`00-${traceId}-${pod.span.spanId}-01`)

  // A task's log lines name its trace and its attempt's span.
  const [line] = await sql<{ fields: Record<string, unknown> }[]>`
    select fields from podline.task_logs where run_id = ${runId}::uuid and task = 'inline' and attempt = 2`
  expect(line?.fields).toMatchObject({ attempt: 2, trace_id: traceId, span_id: inline.span.spanId })
})
