/// <reference lib="dom" />
// The callbacks of evaluate() run in the page.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { waitUntil } from '@podline/runner/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../testing/chromium.js'
import { startUi, type UiFixture } from './harness.js'

const xcomFolder = mkdtempSync(join(tmpdir(), 'podline-ui-framing-xcoms-'))
let f: UiFixture
let browser: Browser
/** Another site: a page of its own that frames the UI. */
let framer: Server
let framerUrl: string

beforeAll(async () => {
  ;[f, browser] = await Promise.all([
    startUi({ PODLINE_XCOM_STORE: pathToFileURL(xcomFolder).href, PODLINE_XCOM_OFFLOAD_BYTES: '1024' }),
    launchChromium(),
  ])
  framer = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html')
    res.end(`<!doctype html><title>another site</title>
      <iframe id="ui" src="${f.url}/pipelines" width="1200" height="700"></iframe>`)
  })
  await new Promise<void>((resolve) => framer.listen(0, '127.0.0.1', resolve))
  const address = framer.address()
  // "localhost": another origin and another site than the UI's 127.0.0.1.
  framerUrl = `http://localhost:${typeof address === 'object' && address ? address.port : 0}/`
})
afterAll(async () => {
  await browser?.close()
  await new Promise((resolve) => framer?.close(resolve))
  await f?.close()
  rmSync(xcomFolder, { recursive: true, force: true })
})

/** Status and headers of an answer that Node writes itself, from bytes no browser would send. */
function rawExchange(request: string): Promise<{ status: number; headers: Map<string, string> }> {
  const { hostname, port } = new URL(f.url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request))
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk) => {
      text += chunk
    })
    socket.on('error', reject)
    socket.on('close', () => {
      const [statusLine = '', ...lines] = text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n')
      const headers = new Map(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      )
      resolve({ status: Number(statusLine.split(' ')[1]), headers })
    })
  })
}

const expectUnframable = (what: string, headers: { get(name: string): string | null | undefined }) => {
  expect(headers.get('x-frame-options'), what).toBe('DENY')
  expect(headers.get('content-security-policy'), what).toContain("frame-ancestors 'none'")
}

describe("podline ui in another site's frame", () => {
  it('every answer forbids framing: pages, assets, JSON, the live stream, refusals, errors and 404s', async () => {
    // A 500: an XCom whose object left the store.
    const runId = await f.trigger('ui-large')
    await f.succeeded(runId)
    for (const entry of readdirSync(xcomFolder)) rmSync(join(xcomFolder, entry), { recursive: true })

    const html = await (await fetch(`${f.url}/`)).text()
    const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1]
    expect(asset).toBeDefined()
    const answers: [string, number, RequestInit?][] = [
      ['/', 200],
      [`/runs/${runId}`, 200],
      [`${asset}`, 200],
      ['/api/runs', 200],
      [`/api/runs/${runId}`, 200],
      ['/api/runs/00000000-0000-0000-0000-000000000000', 404],
      ['/api/runs?state=nonsense', 400],
      [`/api/runs/${runId}/tasks/make/xcoms/return_value/value`, 500],
      // From another origin, as a framing page's form would send it.
      [`/api/runs/${runId}/cancel`, 403, { method: 'POST', headers: { origin: 'http://evil.example' } }],
    ]
    for (const [path, status, init] of answers) {
      const r = await fetch(`${f.url}${path}`, init)
      expect(r.status, path).toBe(status)
      expectUnframable(`${path} (${status})`, r.headers)
      await r.body?.cancel()
    }
    const live = new AbortController()
    const stream = await fetch(`${f.url}/api/events`, { signal: live.signal })
    expect(stream.headers.get('content-type')).toContain('text/event-stream')
    expectUnframable('/api/events', stream.headers)
    live.abort()

    // What Node and the HTTP adapter answer before the app sees a request.
    const malformed = await rawExchange('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nnot a header\r\n\r\n')
    expect(malformed.status).toBe(400)
    expectUnframable('a malformed request', malformed.headers)
    const tooLarge = await rawExchange(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nx: ${'a'.repeat(20_000)}\r\n\r\n`,
    )
    expect(tooLarge.status).toBe(431)
    expectUnframable('headers too large', tooLarge.headers)
    const badPath = await rawExchange('GET /a\\b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
    expect(badPath.status).toBe(400)
    expectUnframable('a path the adapter refuses', badPath.headers)
  })

  it("Chromium refuses to show it in another site's frame, so no click there can reach it", async () => {
    const p = await browser.newPage()
    p.setDefaultTimeout(30_000)
    await p.goto(framerUrl)
    const frame = await waitUntil('the frame to load something', () =>
      p.frames().find((fr) => fr !== p.mainFrame() && fr.url() !== '' && fr.url() !== 'about:blank'),
    )
    await frame.waitForLoadState('load')
    expect(frame.url()).not.toContain(f.url)
    expect(await frame.locator('[data-testid^="open-trigger-"]').count()).toBe(0)
    await p.close()
  })

  it('runs only the scripts it serves: a script put into its page inline is refused', async () => {
    const p = await browser.newPage()
    p.setDefaultTimeout(30_000)
    // The browser tests watch the console for refusals like this one (browser.test.ts).
    const logged: string[] = []
    p.on('console', (m) => {
      if (m.type() === 'error') logged.push(m.text())
    })
    await p.goto(`${f.url}/`)
    await p.getByTestId('live').getByText('live').waitFor()
    const ran = await p.evaluate(() => {
      const w = window as unknown as { violations: string[]; injected?: boolean }
      w.violations = []
      document.addEventListener('securitypolicyviolation', (e) => w.violations.push(e.effectiveDirective))
      const script = document.createElement('script')
      script.textContent = 'window.injected = true'
      document.body.append(script)
      return w.injected === true
    })
    expect(ran).toBe(false)
    await p.waitForFunction(() => (window as unknown as { violations: string[] }).violations.length > 0)
    expect(await p.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([
      'script-src-elem',
    ])
    await waitUntil('the refusal in the console', () =>
      logged.some((text) => text.includes('Content Security Policy')),
    )
    await p.close()
  })
})
