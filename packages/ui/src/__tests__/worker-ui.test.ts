import { openFreshDatabase, waitUntil } from '@podline/runner/testing'
import { afterAll, expect, it } from 'vitest'
import { ROOT, start } from '../../../../apps/cli/src/__tests__/cli.js'
import { PIPELINES } from './harness.js'

const WORKER = `${ROOT}apps/worker/dist/main.js`
let fresh: Awaited<ReturnType<typeof openFreshDatabase>> | undefined
afterAll(() => fresh?.close())

it('the worker app serves the UI on PODLINE_UI_PORT, behind PODLINE_UI_TOKEN, and refuses to without a token', async () => {
  fresh = await openFreshDatabase()
  const env = {
    DATABASE_URL: fresh.url,
    PODLINE_PIPELINES: PIPELINES,
    PODLINE_HTTP_PORT: '0',
    PODLINE_UI_PORT: '0',
  }
  const refused = start([], { env }, [WORKER])
  expect(await refused.exited).toBe(2)
  expect(refused.output()).toContain('set PODLINE_UI_TOKEN')

  const token = 'worker-ui-token'
  const worker = start([], { env: { ...env, PODLINE_UI_TOKEN: token } }, [WORKER])
  try {
    await worker.waitFor(/"msg":"ui listening"/)
    const port = worker.output().match(/"url":"http:\/\/[^:]+:(\d+)"/)?.[1]
    const api = `http://127.0.0.1:${port}/api`
    expect((await fetch(`${api}/pipelines`)).status).toBe(401)
    const auth = { authorization: `Bearer ${token}` }
    const triggered = await fetch(`${api}/pipelines/ui-fail/runs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(triggered.status).toBe(201)
    await waitUntil('the run to fail', async () => {
      const { runs } = (await (await fetch(`${api}/runs`, { headers: auth })).json()) as {
        runs: { state: string }[]
      }
      return runs[0]?.state === 'failed'
    })
  } finally {
    worker.child.kill('SIGTERM')
    await worker.exited
  }
})
