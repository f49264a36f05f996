import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { runLocal, triggerPipeline, Worker, webhook } from '../index.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'

/** A chat's incoming webhook on 127.0.0.1: answers 503 to the first `failFirst` posts, then 200; or never. */
let failFirst = 0
let hang = false
const received: Array<{ text: string }> = []
let server: Server
let url = ''

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = ''
    req.on('data', (chunk) => {
      data += chunk
    })
    req.on('end', () => resolve(data))
  })

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const text = await body(req)
    if (hang) return // never answers: the notifier's deadline must end the request
    if (failFirst > 0) {
      failFirst--
      res.writeHead(503).end('slow down')
      return
    }
    received.push(JSON.parse(text))
    res.writeHead(200).end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/nightly`
  process.env.PODLINE_TEST_WEBHOOK_URL = url
})
afterAll(async () => {
  delete process.env.PODLINE_TEST_WEBHOOK_URL
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const nightly = pipeline('nightly-orders', {
  params: z.object({ day: z.string() }),
  onFailure: webhook({ url: { env: 'PODLINE_TEST_WEBHOOK_URL' }, timeoutMs: 300 }),
}).task('extract', async (_in, { params }) => {
  throw new Error(`no export for ${params.day}\nat the second line`)
})

let flaked = false
const retried = pipeline('sync-shop', { params: z.object({ shop: z.string() }) }).task(
  'fetch',
  { retries: 1, retryDelay: 10, onRetry: webhook({ url: { env: 'PODLINE_TEST_WEBHOOK_URL' } }) },
  async () => {
    if (!flaked) {
      flaked = true
      throw new Error('shop API returned 503')
    }
    return 1
  },
)

describe('the webhook notifier', () => {
  const db = useFreshDatabase()

  const failedRun = async () => {
    const worker = new Worker({
      database: db.database,
      pipelines: [nightly],
      pollMs: 200,
      leaseThread: false,
    })
    await worker.start()
    try {
      const runId = await triggerPipeline(db.database, nightly, { day: '2026-12-06' })
      await waitUntil(
        'the callback to end',
        async () => {
          const [row] = await db.database.rows<{ state: string }>(
            sql`select state from podline.run_callbacks where run_id = ${runId}::uuid`,
          )
          return row?.state === 'success' || row?.state === 'failed'
        },
        30_000,
      )
      const [row] = await db.database.rows<{ state: string; tries: number; error: string | null }>(
        sql`select state, tries, error from podline.run_callbacks where run_id = ${runId}::uuid`,
      )
      return { runId, ...row }
    } finally {
      await worker.stop()
    }
  }

  it('posts Slack-compatible JSON naming the run and its failed task; a 503 is tried again', async () => {
    failFirst = 1
    received.length = 0
    const { runId, state, tries } = await failedRun()
    expect({ state, tries }).toEqual({ state: 'success', tries: 2 })
    expect(received).toEqual([
      {
        text: `nightly-orders: run ${runId} failed\n• extract (attempt 1): no export for 2026-12-06`,
      },
    ])
  }, 30_000)

  it("as a task's onRetry, posts the task, its attempt and its error", async () => {
    received.length = 0
    await runLocal(retried, { shop: 'north' }, { database: db.database })
    expect(received).toEqual([
      {
        text: expect.stringMatching(
          /^sync-shop: run [0-9a-f-]{36}, task fetch attempt 1 failed, retrying: shop API returned 503$/,
        ),
      },
    ])
  }, 30_000)

  it('an endpoint that never answers fails each try at its deadline, and the callback fails with that reason', async () => {
    hang = true
    try {
      const { state, tries, error } = await failedRun()
      expect({ state, tries, error }).toEqual({
        state: 'failed',
        tries: 3,
        error: 'the webhook did not answer within 300 ms',
      })
    } finally {
      hang = false
    }
  }, 30_000)
})
