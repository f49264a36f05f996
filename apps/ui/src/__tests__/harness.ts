import { openFreshDatabase } from '@podline/runner/testing'
import { type Running, start } from '../../../cli/src/__tests__/cli.js'

export const PIPELINES = new URL('./fixtures/ui-pipelines.ts', import.meta.url).pathname

export interface UiFixture {
  url: string
  database: Awaited<ReturnType<typeof openFreshDatabase>>
  /** `podline ui`; a test that restarts it puts the new one here. */
  ui: Running
  worker: Running
  /** A POST to the API as the UI's own page sends it. */
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>
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
    async close() {
      const children = [fixture.ui, worker]
      for (const child of children) if (child.child.exitCode === null) child.child.kill('SIGTERM')
      await Promise.all(children.map((c) => c.exited))
      await database.close()
    },
  }
  return fixture
}
