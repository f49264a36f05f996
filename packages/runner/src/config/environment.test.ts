import { describe, expect, it } from 'vitest'
import { DEFAULT_POOL_SIZE } from '../store/database.js'
import {
  DEFAULT_CLAIM_AHEAD,
  DEFAULT_COMPLETION_BATCH_MS,
  DEFAULT_DRAIN_MS,
  DEFAULT_POD_CONCURRENCY,
} from '../worker/worker.js'
import { DEFAULT_OFFLOAD_BYTES } from '../xcom-store/xcom-reference.js'
import { ConfigError } from './config-error.js'
import { parseEnvironment } from './environment.js'
import { executionSettings, storeSettings, uiSettings, workerSettings } from './settings.js'

function thrown(fn: () => unknown): unknown {
  try {
    fn()
    return undefined
  } catch (error) {
    return error
  }
}

describe('the environment schema every entry point shares', () => {
  it("gives every default once: the runner's own constants for the runner's options", () => {
    expect(parseEnvironment({})).toEqual({
      PODLINE_PIPELINES: ['/pipelines/*.ts'],
      PODLINE_CONCURRENCY: 4,
      PODLINE_DB_POOL_SIZE: DEFAULT_POOL_SIZE,
      PODLINE_POD_CONCURRENCY: DEFAULT_POD_CONCURRENCY,
      PODLINE_COMPLETION_BATCH_MS: DEFAULT_COMPLETION_BATCH_MS,
      PODLINE_CLAIM_AHEAD: DEFAULT_CLAIM_AHEAD,
      PODLINE_HTTP_PORT: 8080,
      PODLINE_DRAIN_TIMEOUT_MS: DEFAULT_DRAIN_MS,
      PODLINE_TRACE_FLUSH_TIMEOUT_MS: 2000,
      PODLINE_LEASE_MS: 30_000,
      PODLINE_LOG_LEVEL: 'info',
      PODLINE_XCOM_OFFLOAD_BYTES: DEFAULT_OFFLOAD_BYTES,
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
      PODLINE_SIDECAR_MODE: 'exec',
      PODLINE_XCOM_LIMIT_BYTES: 2048,
      PODLINE_PRUNE_OLDER_THAN: 30 * 86_400_000,
    })
    expect(e).not.toHaveProperty('PODLINE_RUNTIME')
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
      const error = thrown(() => parseEnvironment(env))
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as Error).message).toBe(message)
    }
  })
})

describe('settings: flags over the environment over the defaults', () => {
  it('a flag wins over its variable, the variable over the default', () => {
    const env = { PODLINE_CONCURRENCY: '8', PODLINE_RUNTIME: 'kubernetes', PODLINE_NAMESPACE: 'tasks' }
    expect(executionSettings({}, {})).toMatchObject({ concurrency: 4, pods: {} })
    expect(executionSettings({}, env)).toMatchObject({
      concurrency: 8,
      pods: { runtime: 'kubernetes', kube: { namespace: 'tasks' } },
    })
    expect(executionSettings({ concurrency: 2, runtime: 'process', namespace: 'mine' }, env)).toMatchObject({
      concurrency: 2,
      pods: { runtime: 'process', kube: { namespace: 'mine' } },
    })
  })

  it('PODLINE_DRAIN_TIMEOUT_MS defaults to the worker’s DEFAULT_DRAIN_MS', () => {
    expect(executionSettings({}, {}).drainMs).toBe(DEFAULT_DRAIN_MS)
    expect(executionSettings({}, { PODLINE_DRAIN_TIMEOUT_MS: '5000' }).drainMs).toBe(5000)
  })

  it('a verb reads only the variables it uses: a bad unrelated one does not stop it', () => {
    const env = { DATABASE_URL: 'postgres://db/x', PODLINE_CONCURRENCY: 'lots', PODLINE_HTTP_PORT: 'x' }
    expect(storeSettings(env)).toMatchObject({ databaseUrl: 'postgres://db/x' })
    expect(uiSettings({ ...env, PODLINE_UI_TOKEN: 't' })).toEqual({ token: 't', kube: {} })
    expect(() => executionSettings({}, env)).toThrow('PODLINE_CONCURRENCY=lots is not')
    expect(() => executionSettings({}, { PODLINE_HTTP_PORT: 'x' })).not.toThrow()
  })

  it('PODLINE_POD_CONCURRENCY sets the pod limit apart from PODLINE_CONCURRENCY', () => {
    const base = { DATABASE_URL: 'postgres://db/x' }
    expect(workerSettings({ ...base, PODLINE_POD_CONCURRENCY: '500' })).toMatchObject({
      concurrency: 4,
      podConcurrency: 500,
    })
    expect(workerSettings(base).podConcurrency).toBe(DEFAULT_POD_CONCURRENCY)
    expect(() => workerSettings({ ...base, PODLINE_POD_CONCURRENCY: '0' })).toThrow(
      'PODLINE_POD_CONCURRENCY=0 is not a whole number of at least 1; fix or unset it.',
    )
  })

  it('the worker requires DATABASE_URL, and PODLINE_UI_TOKEN with PODLINE_UI_PORT', () => {
    expect(() => workerSettings({})).toThrow(/DATABASE_URL is not set/)
    expect(workerSettings({ DATABASE_URL: 'postgres://db/x' }).pods).toEqual({})
    expect(() => workerSettings({ DATABASE_URL: 'postgres://db/x', PODLINE_UI_PORT: '7070' })).toThrow(
      /PODLINE_UI_PORT=7070 serves the UI on every address: set PODLINE_UI_TOKEN/,
    )
  })
})
