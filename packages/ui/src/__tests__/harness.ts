import { runStatus } from '@podline/runner'
import { openFreshDatabase, waitUntil } from '@podline/runner/testing'
import { expect } from 'vitest'
import { type Running, start } from '../../../../apps/cli/src/__tests__/cli.js'

export const PIPELINES = new URL('./fixtures/ui-pipelines.ts', import.meta.url).pathname

export interface UiFixture {
  url: string
  database: Awaited<ReturnType<typeof openFreshDatabase>>
  /** `podline ui`; a test that restarts it puts the new one here. */
  ui: Running
  worker: Running
  /** A POST to the API as the UI's own page sends it. */
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>
  /** Triggers `pipeline` as the UI's own page does: the new run's id (anything but a 201 fails the test). */
  trigger(pipeline: string, params?: unknown): Promise<string>
  /** Waits until the run has succeeded, as the database has it. */
  succeeded(runId: string): Promise<void>
  /**
   * Runs `body` against a second `podline ui` on the fixture's database that listens beyond loopback
   * and asks for `token`: `body` gets its URL on 127.0.0.1. Stopped after it.
   */
  withTokenUi(token: string, body: (url: string) => Promise<void>): Promise<void>
  close(): Promise<void>
}

/** A fresh database, a real worker serving the fixtures, and `podline ui` on a free port: the built CLI as child processes. */
export async function startUi(env: Record<string, string> = {}): Promise<UiFixture> {
  const database = await openFreshDatabase()
  const childEnv = { DATABASE_URL: database.url, ...env }
  const worker = start(['worker', PIPELINES, '--concurrency', '4'], { env: childEnv })
  await worker.waitFor(/started on/)
  const ui = start(['ui', '--port', '0'], { env: childEnv })
  await ui.waitFor(/podline ui: http:\/\/\S+/)
  const url = ui.output().match(/podline ui: (http:\/\/\S+)/)?.[1] ?? ''
  const fixture: UiFixture = {
    url,
    database,
    ui,
    worker,
    post: (path, body = {}, headers = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { origin: url, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }),
    async trigger(pipeline, params = {}) {
      const r = await fixture.post(`/api/pipelines/${pipeline}/runs`, { params })
      expect(r.status).toBe(201)
      return ((await r.json()) as { runId: string }).runId
    },
    async succeeded(runId) {
      await waitUntil(
        'the run to succeed',
        async () => (await runStatus(database.database, runId))?.run.state === 'success',
      )
    },
    async withTokenUi(token, body) {
      const other = start(['ui', '--host', '0.0.0.0', '--port', '0'], {
        env: { DATABASE_URL: database.url, PODLINE_UI_TOKEN: token },
      })
      try {
        await other.waitFor(/podline ui: http:\/\/\S+/)
        await body(`http://127.0.0.1:${other.output().match(/:(\d+)\s*$/m)?.[1]}`)
      } finally {
        other.child.kill('SIGTERM')
        await other.exited
      }
    },
    async close() {
      const children = [fixture.ui, worker]
      for (const child of children) if (child.child.exitCode === null) child.child.kill('SIGTERM')
      await Promise.all(children.map((c) => c.exited))
      await database.close()
    },
  }
  return fixture
}
