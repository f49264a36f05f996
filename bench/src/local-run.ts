import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './stats.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'apps/cli/dist/main.js')
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs')
const ETL = join(ROOT, 'examples/etl.ts')
// GNU time reports the peak RSS of the whole process; without it the table shows time alone.
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const RUNS = 5

export interface Timed {
  /** Median wall time of RUNS whole processes, after one warm-up. */
  ms: number
  /** Median peak resident set, when GNU time is there. */
  peakRssMb?: number
}

export interface LocalRunResult {
  floor: { node: Timed; tsxEmpty: Timed }
  podlineWarm: Timed
  tsxWarm: Timed
  /** A new `.podline/` each run: the store is a copy of the prepared one. */
  podlineNewStore: Timed
  /** A new `.podline/` and an empty cache: initdb and every migration, as on a machine's first run. */
  podlineFirstOnMachine: Timed
}

function once(args: string[], env: NodeJS.ProcessEnv): { ms: number; rssMb?: number } {
  const command = GNU_TIME ? [GNU_TIME, '-f', '%M', process.execPath, ...args] : [process.execPath, ...args]
  const began = performance.now()
  const r = spawnSync(command[0] as string, command.slice(1), { env, encoding: 'utf8', cwd: ROOT })
  const ms = performance.now() - began
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  const kb = GNU_TIME ? Number(r.stderr.trim().split('\n').at(-1)) : Number.NaN
  return Number.isFinite(kb) ? { ms, rssMb: kb / 1024 } : { ms }
}

/** One warm-up, then the median of RUNS; `env` is asked anew for each run (a new store for cold starts). */
function measure(args: string[], env: () => NodeJS.ProcessEnv): Timed {
  once(args, env())
  const runs = Array.from({ length: RUNS }, () => once(args, env()))
  const rss = runs.flatMap((r) => (r.rssMb === undefined ? [] : [r.rssMb]))
  return {
    ms: median(runs.map((r) => r.ms)),
    ...(rss.length ? { peakRssMb: median(rss) } : {}),
  }
}

/** `podline run examples/etl.ts` and `tsx examples/etl.ts` as whole processes, beside the floor of node and tsx. */
export function measureLocalRun(): LocalRunResult {
  const dir = mkdtempSync(join(tmpdir(), 'podline-bench-local-'))
  const base: NodeJS.ProcessEnv = { ...process.env, PODLINE_CACHE_DIR: join(dir, 'cache') }
  delete base.DATABASE_URL
  const empty = join(dir, 'empty.ts')
  writeFileSync(empty, '')
  let n = 0
  const fresh = (name: string) => join(dir, `${name}-${n++}`)
  try {
    const warmStore = { ...base, PODLINE_DATA_DIR: join(dir, 'warm') }
    return {
      floor: {
        node: measure(['-e', ''], () => base),
        tsxEmpty: measure([TSX, empty], () => base),
      },
      podlineWarm: measure([CLI, 'run', ETL], () => warmStore),
      tsxWarm: measure([TSX, ETL], () => warmStore),
      podlineNewStore: measure([CLI, 'run', ETL], () => ({ ...base, PODLINE_DATA_DIR: fresh('new') })),
      podlineFirstOnMachine: measure([CLI, 'run', ETL], () => ({
        ...base,
        PODLINE_DATA_DIR: fresh('first'),
        PODLINE_CACHE_DIR: fresh('cache'),
      })),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const shown = (t: Timed) =>
  `${Math.round(t.ms)} ms${t.peakRssMb === undefined ? '' : `, ${Math.round(t.peakRssMb)} MiB`}`

/** The table rows: each measure, and its distance from the floor (tsx on an empty file). */
export function localRunRows(r: LocalRunResult): string[][] {
  const over = (t: Timed) => `${Math.round(t.ms - r.floor.tsxEmpty.ms)} ms over the floor`
  return [
    ['floor: node -e "" / tsx empty.ts', `${shown(r.floor.node)} / ${shown(r.floor.tsxEmpty)}`, '', ''],
    ['podline run examples/etl.ts, warm store', shown(r.podlineWarm), '', over(r.podlineWarm)],
    ['tsx examples/etl.ts, warm store', shown(r.tsxWarm), '', over(r.tsxWarm)],
    ['podline run examples/etl.ts, new .podline/', shown(r.podlineNewStore), '', over(r.podlineNewStore)],
    [
      'podline run examples/etl.ts, first on the machine',
      shown(r.podlineFirstOnMachine),
      '',
      over(r.podlineFirstOnMachine),
    ],
  ]
}
