import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'apps/cli/dist/main.js')
const RECORDER = fileURLToPath(new URL('./support/record-modules.mjs', import.meta.url))

/** Runs `podline <args>` with the module recorder preloaded; returns its exit code and what it loaded. */
async function modulesLoadedBy(
  args: string[],
  dir: string,
): Promise<{ code: number | null; modules: string[] }> {
  const log = join(dir, 'modules.log')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PODLINE_MODULE_LOG: log,
    PODLINE_DATA_DIR: join(dir, 'store'),
  }
  delete env.DATABASE_URL
  const child = spawn(process.execPath, ['--import', RECORDER, CLI, ...args], {
    cwd: ROOT,
    env,
    stdio: 'ignore',
  })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  return { code, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) }
}

describe('the local loop loads only what the run needs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podline-local-loop-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('podline run of an inline-only pipeline loads no Kubernetes client, YAML, pino, metrics, tracing, S3 client or second drizzle', async () => {
    const { code, modules } = await modulesLoadedBy(['run', 'examples/etl.ts'], dir)
    expect(code).toBe(0)
    // The recorder works: the embedded store's engine and the pipeline file were loaded.
    expect(modules.some((m) => m.includes('@electric-sql/pglite'))).toBe(true)
    expect(modules.some((m) => m.endsWith('examples/etl.ts'))).toBe(true)
    const unwanted = [
      '@kubernetes/client-node',
      '/node_modules/yaml/',
      'pino',
      'prom-client',
      '@opentelemetry/sdk',
      '@aws-sdk/',
      // The runner bundles drizzle; the package's own copy, on Node.js 22, costs about 300 ms to load.
      '/node_modules/drizzle-orm/',
    ]
    expect(modules.filter((m) => unwanted.some((u) => m.includes(u)))).toEqual([])
  })
})
