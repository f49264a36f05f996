import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './stats.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'apps/cli/dist/main.js')

export interface LocalRunResult {
  coldMs: number
  warmMs: number
  warmRuns: number
}

/** One whole `podline run examples/etl.ts` process on the embedded store in `dataDir`, in ms. */
function timeRun(dataDir: string): number {
  const env: NodeJS.ProcessEnv = { ...process.env, PODLINE_DATA_DIR: dataDir }
  delete env.DATABASE_URL
  const began = performance.now()
  const r = spawnSync(process.execPath, [CLI, 'run', join(ROOT, 'examples/etl.ts')], {
    env,
    encoding: 'utf8',
  })
  const ms = performance.now() - began
  if (r.status !== 0) throw new Error(`podline run failed (${r.status}): ${r.stderr}`)
  return ms
}

/** Cold: a fresh data dir (the store is created and migrated). Warm: the median of 5 runs after it. */
export function measureLocalRun(): LocalRunResult {
  const dir = mkdtempSync(join(tmpdir(), 'podline-bench-local-'))
  try {
    const coldMs = timeRun(join(dir, 'store'))
    const warm = Array.from({ length: 5 }, () => timeRun(join(dir, 'store')))
    return { coldMs, warmMs: median(warm), warmRuns: warm.length }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
