import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ENVIRONMENT } from '@podline/runner/config'
import { describe, expect, it } from 'vitest'

const WORKER = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const CLI = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url))

function exitOf(command: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [command, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
  })
  child.stderr.on('data', (d) => {
    out += d
  })
  return new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, out })),
  )
}

describe('the environment, as podline and the worker read it', () => {
  it('every PODLINE_ variable the schema knows is listed in podline --help', async () => {
    const help = await exitOf(CLI, ['--help'], {})
    for (const name of Object.keys(ENVIRONMENT.shape))
      if (!['PODLINE_PIPELINES', 'PODLINE_HTTP_PORT', 'PODLINE_UI_PORT', 'PODLINE_LOG_LEVEL'].includes(name))
        expect(help.out).toContain(name)
  })

  it('podline and podline-worker refuse the same bad variable with the same message and exit 2', async () => {
    const env = { DATABASE_URL: 'postgres://127.0.0.1:1/none', PODLINE_CONCURRENCY: 'lots' }
    const message = 'PODLINE_CONCURRENCY=lots is not a whole number of at least 1; fix or unset it.'
    const cli = await exitOf(CLI, ['worker', 'nothing.ts'], env)
    expect(cli.code).toBe(2)
    expect(cli.out).toBe(`podline: ${message}\n`)
    const worker = await exitOf(WORKER, [], env)
    expect(worker.code).toBe(2)
    expect(JSON.parse(worker.out.trim().split('\n')[0] ?? '{}').msg).toBe(message)
  })
})
