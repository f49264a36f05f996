import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { median } from './stats.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'apps/cli/dist/main.js')
const RUNS = 5
// Scripts written to a scratch folder name their modules by URL: nothing resolves from there.
const RUNNER = pathToFileURL(join(ROOT, 'packages/runner/dist/index.js')).href

/**
 * Where the time of `podline run examples/etl.ts` goes, as the differences between whole processes
 * that each do one step more than the one before: node alone, then loading the CLI and the runner's
 * modules, then opening the warm embedded store, then checking its schema, then the whole run.
 * Each figure is the median of RUNS after a warm-up, so the steps are measured the way a user meets
 * them, with the module cache and the page cache warm.
 */
export interface LocalBreakdown {
  steps: Array<{ step: string; ms: number }>
}

function timeNode(args: string[], env: NodeJS.ProcessEnv): number {
  const once = () => {
    const began = performance.now()
    const r = spawnSync(process.execPath, args, { env, cwd: ROOT, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`)
    return performance.now() - began
  }
  once()
  return median(Array.from({ length: RUNS }, once))
}

export function measureLocalBreakdown(): LocalBreakdown {
  const dir = mkdtempSync(join(tmpdir(), 'podline-bench-breakdown-'))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PODLINE_DATA_DIR: join(dir, 'store'),
    PODLINE_CACHE_DIR: join(dir, 'cache'),
  }
  delete env.DATABASE_URL
  const script = (name: string, body: string) => {
    const file = join(dir, `${name}.mjs`)
    writeFileSync(file, body)
    return file
  }
  const modules = script(
    'modules',
    // What `podline run` loads before it opens the store: the runner (drizzle is bundled in it) and PGlite.
    `await Promise.all([${[RUNNER, import.meta.resolve('@electric-sql/pglite')].map((m) => `import(${JSON.stringify(m)})`).join(', ')}])`,
  )
  const open = script(
    'open',
    `const { openDatabase } = await import(${JSON.stringify(RUNNER)})
const d = await openDatabase(); await d.close()`,
  )
  const check = script(
    'check',
    `const { openDatabase } = await import(${JSON.stringify(RUNNER)})
const d = await openDatabase(); await d.migrate(); await d.close()`,
  )
  try {
    // The warm store the later steps open; the first run creates it.
    spawnSync(process.execPath, [CLI, 'run', 'examples/etl.ts'], { env, cwd: ROOT })
    const node = timeNode(['-e', ''], env)
    const help = timeNode([CLI, '--help'], env)
    const loaded = timeNode([modules], env)
    const opened = timeNode([open], env)
    const checked = timeNode([check], env)
    const run = timeNode([CLI, 'run', 'examples/etl.ts'], env)
    return {
      steps: [
        { step: 'node itself', ms: node },
        { step: 'the CLI and its arguments (podline --help)', ms: help - node },
        { step: 'loading the runner (drizzle bundled in it) and PGlite', ms: loaded - node },
        { step: 'opening the warm embedded store (PGlite start)', ms: opened - loaded },
        { step: 'checking the schema (migrate on a current store)', ms: checked - opened },
        { step: 'the rest: tsx and the pipeline file, the worker, five tasks, output', ms: run - checked },
        { step: 'podline run examples/etl.ts in all', ms: run },
      ],
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
