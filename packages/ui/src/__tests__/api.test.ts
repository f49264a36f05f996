import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { waitUntil } from '@podline/runner/testing'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { podline } from '../../../../apps/cli/src/__tests__/cli.js'
import { startUi, type UiFixture } from './harness.js'

let f: UiFixture
let double: KubeDouble
let sql: postgres.Sql

const xcomFolder = mkdtempSync(join(tmpdir(), 'podline-ui-xcoms-'))

beforeAll(async () => {
  double = await startKubeDouble()
  f = await startUi({
    PODLINE_XCOM_STORE: pathToFileURL(xcomFolder).href,
    PODLINE_XCOM_OFFLOAD_BYTES: '1024',
    KUBECONFIG: double.kubeconfigPath,
  })
  sql = postgres(f.database.url, { max: 1, onnotice: () => {} })
})
afterAll(async () => {
  await sql?.end()
  await f?.close()
  await double?.close()
  rmSync(xcomFolder, { recursive: true, force: true })
})

const get = async (path: string, headers: Record<string, string> = {}) => {
  const r = await fetch(`${f.url}${path}`, { headers })
  return { status: r.status, body: await r.json() }
}

/** The run's detail as the API shows it, once the run has succeeded. */
const succeededDetail = (runId: string) =>
  waitUntil('the run to succeed', async () => {
    const d = await get(`/api/runs/${runId}`)
    return d.body.run.state === 'success' && d.body
  })

/** Reads a Server-Sent Events stream until `until` holds for the events read; then closes it. */
async function readEvents(
  headers: Record<string, string>,
  until: (events: { event: string; id?: string; data: string }[]) => boolean,
) {
  const ac = new AbortController()
  const r = await fetch(`${f.url}/api/events`, { headers, signal: ac.signal })
  expect(r.headers.get('content-type')).toContain('text/event-stream')
  const reader = r.body?.pipeThrough(new TextDecoderStream()).getReader()
  const events: { event: string; id?: string; data: string }[] = []
  let buffer = ''
  const deadline = setTimeout(() => ac.abort(), 15_000)
  try {
    while (reader && !until(events)) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const fields = Object.fromEntries(
          block
            .split('\n')
            .filter((l) => !l.startsWith(':') && l.includes(':'))
            .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]),
        )
        if (fields.event) events.push({ event: fields.event, id: fields.id, data: fields.data ?? '' })
        end = buffer.indexOf('\n\n')
      }
    }
  } finally {
    clearTimeout(deadline)
    ac.abort()
  }
  return events
}

describe('the JSON API of podline ui', () => {
  it("shows a pod task's pod as the cluster sees it: phase, containers and events", async () => {
    const runId = await f.trigger('ui-pod')
    await succeededDetail(runId)
    const pod = await get(`/api/runs/${runId}/tasks/work/pod`)
    expect(pod.status).toBe(200)
    expect(pod.body).toMatchObject({
      namespace: 'default',
      why: null,
      status: { exists: true, phase: 'Succeeded' },
    })
    expect(pod.body.name).toMatch(/^ui-pod-work-a1-[0-9a-f]{8}$/)
    expect(pod.body.status.containers).toContainEqual(
      expect.objectContaining({ name: 'base', state: 'terminated', exitCode: 0 }),
    )
    expect(pod.body.status.events.map((e: { reason: string }) => e.reason)).toContain('Scheduled')
    const none = await get(`/api/runs/${runId}/tasks/nope/pod`)
    expect(none.status).toBe(404)
  })

  it("shows a mapped task as one task with its items' counts, and its own attempts apart from its items'", async () => {
    const runId = await f.trigger('ui-mapped')
    const detail = await succeededDetail(runId)
    const upper = detail.tasks.find((t: { task: string }) => t.task === 'upper')
    expect(detail.tasks.map((t: { task: string }) => t.task)).toEqual(['letters', 'upper'])
    expect(upper.items).toMatchObject({ total: 3, byState: { success: 3 }, failed: [] })
    expect(upper.attempts).toHaveLength(1)
    const xcoms = await get(`/api/runs/${runId}/tasks/upper/xcoms`)
    expect(xcoms.body.xcoms).toMatchObject([{ key: 'return_value', value: ['A', 'B', 'C'] }])
  })

  it('shows an XCom kept in the store with its value, and streams it whole from its own URL', async () => {
    const runId = await f.trigger('ui-large')
    await succeededDetail(runId)
    const rows = Array.from({ length: 200 }, (_, i) => ({ i, name: `row ${i}` }))
    const xcoms = await get(`/api/runs/${runId}/tasks/make/xcoms`)
    expect(xcoms.body.xcoms).toMatchObject([
      { key: 'return_value', value: { rows }, offloaded: { store: pathToFileURL(xcomFolder).href } },
    ])
    const whole = await get(`/api/runs/${runId}/tasks/make/xcoms/return_value/value`)
    expect(whole.status).toBe(200)
    expect(whole.body).toEqual({ rows })
  })

  it('triggers a run with params, lists it, and shows its tasks, attempts, log and XComs', async () => {
    const runId = await f.trigger('ui-diamond', { rows: 3 })
    const list = await get('/api/runs?pipeline=ui-diamond')
    expect(list.body.runs.map((x: { id: string }) => x.id)).toContain(runId)
    const detail = await succeededDetail(runId)
    expect(detail.tasks.map((t: { task: string; needs: string[] }) => [t.task, t.needs])).toEqual([
      ['extract', []],
      ['clean', ['extract']],
      ['enrich', ['extract']],
      ['load', ['clean', 'enrich']],
    ])
    expect(detail.tasks[0].attempts).toMatchObject([{ attempt: 1, state: 'success' }])
    for (const timed of [detail.run, detail.tasks[0], detail.tasks[0].attempts[0]])
      expect(timed.durationMs).toBeGreaterThanOrEqual(0)
    const logs = await get(`/api/runs/${runId}/tasks/extract/logs`)
    expect(logs.body.lines.map((l: { message: string }) => l.message)).toContain('extracting')
    const tail = await get(`/api/runs/${runId}/tasks/extract/logs?after=${logs.body.lines.at(-1).id}`)
    expect(tail.body.lines).toEqual([])
    const xcoms = await get(`/api/runs/${runId}/tasks/load/xcoms`)
    expect(xcoms.body.xcoms).toMatchObject([{ key: 'return_value', value: 8, attempt: 1 }])
  })

  it('refuses params the schema refuses, with its message, and creates nothing', async () => {
    const before = (await sql`select count(*)::int as n from podline.runs`)[0]?.n
    const r = await f.post('/api/pipelines/ui-diamond/runs', { params: { rows: 0 } })
    expect(r.status).toBe(400)
    const refused = (await r.json()) as { error: string; issues: { param: string; message: string }[] }
    expect(refused.error).toMatch(/rows: must be >= 1; no run was created/)
    expect(refused.issues).toEqual([{ param: 'rows', message: 'must be >= 1' }])
    const missing = await f.post('/api/pipelines/ui-diamond/runs', { params: {} })
    expect(((await missing.json()) as { issues: unknown[] }).issues).toContainEqual(
      expect.objectContaining({ param: 'rows' }),
    )
    expect((await sql`select count(*)::int as n from podline.runs`)[0]?.n).toBe(before)
    expect((await get('/api/runs?state=finished')).status).toBe(400)
    expect((await get('/api/runs/not-a-run')).status).toBe(404)
  })

  it('pages runs by the keyset: a page and the next hold every run once', async () => {
    for (let i = 0; i < 3; i++) expect((await f.post('/api/pipelines/ui-fail/runs')).status).toBe(201)
    const all = (await get('/api/runs?limit=500')).body.runs.map((x: { id: string }) => x.id)
    const first = await get('/api/runs?limit=1')
    expect(first.body.next).toBe(all[0])
    const second = await get(`/api/runs?limit=500&after=${first.body.next}`)
    expect([first.body.runs[0].id, ...second.body.runs.map((x: { id: string }) => x.id)]).toEqual(all)
  })

  it('cancels an open run and retries an ended one', async () => {
    const runId = await f.trigger('ui-slow')
    await waitUntil(
      'the task to run',
      async () => (await get(`/api/runs/${runId}`)).body.tasks[0].state === 'running',
    )
    expect((await f.post(`/api/runs/${runId}/cancel`)).status).toBe(200)
    expect((await get(`/api/runs/${runId}`)).body.run.state).toBe('cancelled')
    const again = await f.post(`/api/runs/${runId}/cancel`)
    expect(again.status).toBe(409)
    const retried = await f.post(`/api/runs/${runId}/retry`)
    expect(await retried.json()).toEqual({ queued: 1 })
    await waitUntil('the retried task to run', async () => {
      const d = (await get(`/api/runs/${runId}`)).body
      return d.run.state === 'running' && d.tasks[0].attempts.length === 2
    })
    await f.post(`/api/runs/${runId}/cancel`)
  })

  it('lists pipelines with their versions, plans and schedules', async () => {
    const { body } = await get('/api/pipelines')
    const diamond = body.pipelines.find((p: { name: string }) => p.name === 'ui-diamond')
    expect(diamond.current).toBe(diamond.versions[0].version)
    expect(diamond.versions[0].plan.paramsJsonSchema.properties.rows).toMatchObject({
      type: 'integer',
      minimum: 1,
    })
    expect(diamond.schedule).toBeNull()
  })

  it("pauses and unpauses a pipeline's schedule; the listing shows the next tick only while it is not paused", async () => {
    const daily = async () =>
      (await get('/api/pipelines')).body.pipelines.find((p: { name: string }) => p.name === 'ui-daily')
        ?.schedule
    const schedule = await waitUntil('the worker to store the schedule', daily, 10_000)
    expect(schedule).toMatchObject({ cron: '0 3 * * *', timezone: 'Europe/Paris', paused: false })
    expect(Date.parse(schedule.nextTick)).toBeGreaterThan(Date.now())
    expect(await (await f.post('/api/pipelines/ui-daily/pause')).json()).toEqual({ paused: true })
    expect(await daily()).toMatchObject({ paused: true, nextTick: null })
    expect(await (await f.post('/api/pipelines/ui-daily/unpause')).json()).toEqual({ paused: false })
    expect((await daily()).paused).toBe(false)
    expect((await f.post('/api/pipelines/ui-diamond/pause')).status).toBe(404)
  })

  it('refuses a mutating request from another origin, without an origin, or to a rebound host name', async () => {
    const other = await f.post('/api/pipelines/ui-fail/runs', {}, { origin: 'http://evil.example' })
    expect(other.status).toBe(403)
    expect(((await other.json()) as { error: string }).error).toContain("must come from the UI's own origin")
    const cross = await f.post('/api/pipelines/ui-fail/runs', {}, { 'sec-fetch-site': 'cross-site' })
    expect(cross.status).toBe(403)
    const bare = await fetch(`${f.url}/api/pipelines/ui-fail/runs`, { method: 'POST', body: '{}' })
    expect(bare.status).toBe(403)
    const form = await f.post('/api/pipelines/ui-fail/runs', {}, { 'content-type': 'text/plain' })
    expect(form.status).toBe(415)
    // fetch will not send another Host: node:http does, as a browser does for a name rebound to 127.0.0.1.
    const { port } = new URL(f.url)
    const rebound = await new Promise<number | undefined>((resolve, reject) =>
      request(
        { host: '127.0.0.1', port, path: '/api/runs', headers: { host: `evil.example:${port}` } },
        (res) => {
          res.resume()
          resolve(res.statusCode)
        },
      )
        .on('error', reject)
        .end(),
    )
    expect(rebound).toBe(403)
  })

  it('streams transitions; a client resuming with Last-Event-ID gets every one it missed, from the events table', async () => {
    const first = await readEvents({}, (e) => e.some((x) => x.event === 'ready'))
    const resumeFrom = first[0]?.id ?? ''
    expect(resumeFrom).toMatch(/^\d+$/)
    // While the client is away, a run goes from start to end.
    const runId = await f.trigger('ui-diamond', { rows: 2 })
    await succeededDetail(runId)
    const stored = await sql<{ id: string }[]>`
      select id::text from podline.events where id > ${resumeFrom}::bigint order by id`
    const resumed = await readEvents({ 'last-event-id': resumeFrom }, (e) =>
      stored.every((s) => e.some((x) => x.id === s.id)),
    )
    const transitions = resumed.filter((e) => e.event === 'transition')
    expect(transitions.map((e) => e.id)).toEqual(stored.map((s) => s.id))
    const last = JSON.parse(transitions.at(-1)?.data ?? '{}')
    expect(last).toMatchObject({ runId, task: null, to: 'success', pipeline: 'ui-diamond' })
  })
})

describe('assets through the JSON API', () => {
  type Event = { id: string; asset: string; value: unknown; producer: { runId: string } | null }
  const events = async (asset: string, query = '') =>
    get(`/api/assets/${encodeURIComponent(asset)}/events${query}`)
  const emit = (asset: string, value: unknown) =>
    f.post(`/api/assets/${encodeURIComponent(asset)}/events`, value)

  it('lists each asset with its schema, producers, consumers and last event, linked to the producing run', async () => {
    const runId = await f.trigger('ui-load-orders', { rows: 12 })
    await succeededDetail(runId)
    const orders = await waitUntil('the event of the run to be listed', async () => {
      const { body } = await get('/api/assets')
      const found = body.assets.find((a: { name: string }) => a.name === 'ui.orders')
      return found?.lastEvent?.producer?.runId === runId && found
    })
    expect(orders).toMatchObject({
      producers: [{ pipeline: 'ui-load-orders', task: 'load' }],
      consumers: expect.arrayContaining([
        { pipeline: 'ui-orders-report', mode: 'any', with: [] },
        { pipeline: 'ui-orders-per-customer', mode: 'all', with: ['ui/crm/customers'] },
      ]),
      lastEvent: { asset: 'ui.orders', value: { date: '2026-12-07', rows: 12 } },
    })
    expect(orders.jsonSchema.properties.rows).toMatchObject({ type: 'integer', minimum: 0 })
    const { body } = await get('/api/assets')
    expect(body.assets.map((a: { name: string }) => a.name)).toEqual(['ui.orders', 'ui/crm/customers'])
    // The producing run's event made a run of its consumer, which names the event.
    const reportRun = await waitUntil('a run of ui-orders-report', async () => {
      const runs = (await get('/api/runs?pipeline=ui-orders-report&limit=500')).body.runs
      for (const r of runs as { id: string }[]) {
        const detail = (await get(`/api/runs/${r.id}`)).body
        if (detail.run.assets?.['ui.orders']?.id === orders.lastEvent.id) return detail
      }
      return undefined
    })
    expect(reportRun.run.assets['ui.orders']).toMatchObject({
      value: { rows: 12 },
      producer: { pipeline: 'ui-load-orders', runId, task: 'load' },
    })
    // A run made otherwise has none.
    expect((await get(`/api/runs/${runId}`)).body.run.assets).toBeNull()
  })

  it("refuses a value its schema refuses with the schema's messages, recording nothing; records a good one", async () => {
    const count = async () => (await sql`select count(*)::int as n from podline.asset_events`)[0]?.n
    const before = await count()
    const refused = await emit('ui.orders', { date: 7, rows: -1 })
    expect(refused.status).toBe(400)
    const problem = (await refused.json()) as { error: string; issues: { path: string; message: string }[] }
    expect(problem.error).toContain('failed its schema')
    expect(problem.error).toContain('no event was recorded')
    expect(problem.issues).toEqual(
      expect.arrayContaining([
        { path: 'date', message: 'must be string' },
        { path: 'rows', message: 'must be >= 0' },
      ]),
    )
    const unknown = await emit('ui.nothing', { rows: 1 })
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: string }).error).toContain('no registered pipeline declares')
    expect((await emit('Not A Name', {})).status).toBe(404)
    // A body declared past the limit is refused from its Content-Length, before any of it is read.
    const huge = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: new URL(f.url).port,
          method: 'POST',
          path: '/api/assets/ui.orders/events',
          headers: {
            origin: f.url,
            'content-type': 'application/json',
            'content-length': String(4 * 1024 * 1024 + 1),
          },
        },
        (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            body += chunk
          })
          res.on('end', () => {
            resolve({ status: res.statusCode, body })
            req.destroy()
          })
        },
      ).on('error', reject)
      req.write('{"date": "')
    })
    expect(huge.status).toBe(413)
    expect(JSON.parse(huge.body).error).toContain("an event's value is at most 1048576")
    // The write guard holds as for every other change: another origin is refused before the value is read.
    const elsewhere = await f.post(
      '/api/assets/ui.orders/events',
      { date: 'x', rows: 1 },
      { origin: 'http://evil.example' },
    )
    expect(elsewhere.status).toBe(403)
    expect(await count()).toBe(before)

    const accepted = await emit('ui.orders', { date: '2026-12-08', rows: 4 })
    expect(accepted.status).toBe(201)
    const { id } = (await accepted.json()) as { id: string }
    expect(id).toMatch(/^\d+$/)
    const [newest] = (await events('ui.orders')).body.events as Event[]
    expect(newest).toMatchObject({
      id,
      asset: 'ui.orders',
      value: { date: '2026-12-08', rows: 4 },
      producer: null,
    })
  })

  it("pages an asset's events newest first by `before`; a name with '/' is one path segment", async () => {
    const ids: string[] = []
    for (const count of [1, 2, 3]) {
      const r = await emit('ui/crm/customers', { count })
      expect(r.status).toBe(201)
      ids.push(((await r.json()) as { id: string }).id)
    }
    const first = await events('ui/crm/customers', '?limit=2')
    expect(first.status).toBe(200)
    expect((first.body.events as Event[]).map((e) => e.id)).toEqual([ids[2], ids[1]])
    expect(first.body.next).toBe(ids[1])
    const second = await events('ui/crm/customers', `?limit=2&before=${first.body.next}`)
    expect((second.body.events as Event[]).map((e) => [e.id, e.value])).toEqual([[ids[0], { count: 1 }]])
    expect(second.body.next).toBeNull()
    expect((await events('ui/crm/customers', '?before=abc')).status).toBe(400)
    expect((await events('ui/crm/customers', '?limit=0')).status).toBe(400)
    expect((await events('ui/crm/customers', '?limit=201')).status).toBe(400)
    expect((await events('ui.nothing')).body).toEqual({ events: [], next: null })
  })
})

describe('podline ui on an address others can reach', () => {
  it('will not start without PODLINE_UI_TOKEN', async () => {
    const r = await podline(['ui', '--host', '0.0.0.0', '--port', '0'], {
      env: { DATABASE_URL: f.database.url },
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('set PODLINE_UI_TOKEN')
  })

  it('asks every API call for the token, as a bearer or the login cookie (HttpOnly, SameSite=Strict)', async () => {
    const token = 'a-long-secret-token'
    await f.withTokenUi(token, async (url) => {
      expect((await fetch(`${url}/api/runs`)).status).toBe(401)
      expect((await fetch(`${url}/api/runs`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
        401,
      )
      expect((await fetch(`${url}/api/runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        200,
      )
      expect((await fetch(`${url}/api/events`)).status).toBe(401)
      // The page itself holds no data: it loads and shows the login form.
      expect((await fetch(`${url}/`)).status).toBe(200)
      const json = { 'content-type': 'application/json', origin: url }
      const wrong = await fetch(`${url}/api/login`, {
        method: 'POST',
        headers: json,
        body: '{"token":"nope"}',
      })
      expect(wrong.status).toBe(401)
      const login = await fetch(`${url}/api/login`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ token }),
      })
      expect(login.status).toBe(200)
      const cookie = login.headers.get('set-cookie') ?? ''
      expect(cookie).toMatch(/HttpOnly/i)
      expect(cookie).toMatch(/SameSite=Strict/i)
      const session = cookie.split(';')[0] ?? ''
      expect((await fetch(`${url}/api/runs`, { headers: { cookie: session } })).status).toBe(200)
      // The cookie alone does not let another origin act.
      const forged = await fetch(`${url}/api/pipelines/ui-fail/runs`, {
        method: 'POST',
        headers: { cookie: session, 'content-type': 'application/json', origin: 'http://evil.example' },
        body: '{}',
      })
      expect(forged.status).toBe(403)
      const scripted = await fetch(`${url}/api/pipelines/ui-fail/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      })
      expect(scripted.status).toBe(201)
    })
  })
})
