import { type AddressInfo, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { openStore, runStatus, type Store, triggerPipeline } from '@podline/runner'
import { freshDatabase, waitUntil } from '@podline/runner/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ROOT, type Running, start } from '../../apps/cli/src/__tests__/cli.js'
import { etl } from '../../examples/etl.js'

/*
 * A collector that accepts connections and never answers: the exporter would wait for it up to
 * OTEL_EXPORTER_OTLP_TIMEOUT, here ten minutes, past each test's deadline. A process that stops
 * must leave after PODLINE_TRACE_FLUSH_TIMEOUT_MS instead, saying once that spans were dropped.
 */
const ETL = join(ROOT, 'examples/etl.ts')
const DROPPED =
  /^podline: \d+ spans? (was|were) dropped: the trace exporter did not take them within 200 ms/gm

const sockets = new Set<Socket>()
const silent = createServer((socket) => sockets.add(socket))
let db: Awaited<ReturnType<typeof freshDatabase>>
let store: Store
let env: Record<string, string>
const started: Running[] = []

beforeAll(async () => {
  db = await freshDatabase()
  store = await openStore({ databaseUrl: db.url })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  env = {
    DATABASE_URL: db.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_TIMEOUT: '600000',
    PODLINE_TRACE_FLUSH_TIMEOUT_MS: '200',
  }
})
afterAll(async () => {
  for (const p of started) if (p.child.exitCode === null) p.child.kill('SIGKILL')
  for (const socket of sockets) socket.destroy()
  silent.close()
  await store?.close()
  await db?.drop()
})

/** The exit code, or a failure when the process is still there at the deadline. */
function exitWithin(p: Running, ms: number): Promise<number | null> {
  return Promise.race([
    p.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${p.output()}`)), ms).unref(),
    ),
  ])
}

it('podline run ends with its run, not with the collector, and says once that spans were dropped', async () => {
  const run = start(['run', ETL], { env })
  started.push(run)
  expect(await exitWithin(run, 45_000), run.output()).toBe(0)
  expect(run.output().match(DROPPED), run.output()).toHaveLength(1)
  expect(run.output()).toMatch(/"summary": "2 rows into sales_20261121/)
})

it('podline worker stops on SIGINT without waiting for the collector, and says once that spans were dropped', async () => {
  const worker = start(['worker', ETL, '--concurrency', '2'], { env })
  started.push(worker)
  await worker.waitFor(/started on/)
  const runId = await triggerPipeline(store.database, etl, {})
  await waitUntil('the run to succeed', async () => {
    const state = (await runStatus(store.database, runId))?.run.state
    return state === 'success' ? true : undefined
  })
  worker.child.kill('SIGINT')
  expect(await exitWithin(worker, 45_000), worker.output()).toBe(0)
  expect(worker.output().match(DROPPED), worker.output()).toHaveLength(1)
})
