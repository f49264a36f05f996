import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError, configFromEnv, ENVIRONMENT, parseEnvironment } from './config.js'

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

describe('the environment schema shared by podline and the worker', () => {
  it('gives every default from one place', () => {
    expect(parseEnvironment({})).toEqual({
      PODLINE_PIPELINES: ['/pipelines/*.ts'],
      PODLINE_CONCURRENCY: 4,
      PODLINE_HTTP_PORT: 8080,
      PODLINE_DRAIN_TIMEOUT_MS: 60_000,
      PODLINE_TRACE_FLUSH_TIMEOUT_MS: 2000,
      PODLINE_LEASE_MS: 30_000,
      PODLINE_LOG_LEVEL: 'info',
      PODLINE_RUNTIME: 'kubernetes',
    })
  })

  it('parses every variable it knows, and treats an empty one as unset', () => {
    const e = parseEnvironment({
      DATABASE_URL: 'postgres://db/podline',
      PODLINE_PIPELINES: 'a.ts, b/*.ts,',
      PODLINE_CONCURRENCY: '8',
      PODLINE_LEASE_MS: '100',
      PODLINE_RUNTIME: '',
      PODLINE_SIDECAR_MODE: 'exec',
      PODLINE_XCOM_LIMIT_BYTES: '2048',
      PODLINE_PRUNE_OLDER_THAN: '30d',
    })
    expect(e).toMatchObject({
      DATABASE_URL: 'postgres://db/podline',
      PODLINE_PIPELINES: ['a.ts', 'b/*.ts'],
      PODLINE_CONCURRENCY: 8,
      PODLINE_LEASE_MS: 100,
      PODLINE_RUNTIME: 'kubernetes',
      PODLINE_SIDECAR_MODE: 'exec',
      PODLINE_XCOM_LIMIT_BYTES: 2048,
      PODLINE_PRUNE_OLDER_THAN: 30 * 86_400_000,
    })
  })

  it('reports a bad value in one format: NAME=value is not …; fix or unset it', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [
        { PODLINE_CONCURRENCY: 'abc' },
        'PODLINE_CONCURRENCY=abc is not a whole number of at least 1; fix or unset it.',
      ],
      [
        { PODLINE_CONCURRENCY: '0' },
        'PODLINE_CONCURRENCY=0 is not a whole number of at least 1; fix or unset it.',
      ],
      [
        { PODLINE_LEASE_MS: '1.5' },
        'PODLINE_LEASE_MS=1.5 is not a whole number of at least 100; fix or unset it.',
      ],
      [
        { PODLINE_RUNTIME: 'docker' },
        'PODLINE_RUNTIME=docker is not one of kubernetes, process; fix or unset it.',
      ],
      [
        { PODLINE_LOG_LEVEL: 'loud' },
        'PODLINE_LOG_LEVEL=loud is not one of trace, debug, info, warn, error, fatal, silent; fix or unset it.',
      ],
      [
        { PODLINE_PRUNE_OLDER_THAN: '30 days' },
        "PODLINE_PRUNE_OLDER_THAN=30 days is not a duration such as '30d', '12h' or '90m'; fix or unset it.",
      ],
    ]
    for (const [env, message] of cases) {
      const error = (() => {
        try {
          parseEnvironment(env)
          return undefined
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as Error).message).toBe(message)
    }
  })

  it('every PODLINE_ variable the schema knows is listed in podline --help', async () => {
    const help = await exitOf(CLI, ['--help'], {})
    for (const name of Object.keys(ENVIRONMENT.shape))
      if (!['PODLINE_PIPELINES', 'PODLINE_HTTP_PORT', 'PODLINE_UI_PORT', 'PODLINE_LOG_LEVEL'].includes(name))
        expect(help.out).toContain(name)
  })

  it('PODLINE_POD_CONCURRENCY sets the pod limit apart from PODLINE_CONCURRENCY; unset, the worker keeps its default', () => {
    const base = { DATABASE_URL: 'postgres://db/x' }
    expect(configFromEnv({ ...base, PODLINE_POD_CONCURRENCY: '500' })).toMatchObject({
      concurrency: 4,
      podConcurrency: 500,
    })
    expect(configFromEnv(base)).not.toHaveProperty('podConcurrency')
    expect(() => configFromEnv({ ...base, PODLINE_POD_CONCURRENCY: '0' })).toThrow(
      'PODLINE_POD_CONCURRENCY=0 is not a whole number of at least 1; fix or unset it.',
    )
  })

  it('the worker requires DATABASE_URL; podline does not', () => {
    expect(() => configFromEnv({})).toThrow(/DATABASE_URL is not set/)
    expect(configFromEnv({ DATABASE_URL: 'postgres://db/x' }).pods).toEqual({ runtime: 'kubernetes' })
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
