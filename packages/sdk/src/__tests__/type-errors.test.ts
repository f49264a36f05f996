import { execFile } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')

const header = `import { json, pipeline } from '@podline/sdk'
const p = pipeline('demo')
  .task('a', async () => ({ n: 1, s: 'x' }))
  .task('b', { needs: ['a'] }, async ({ a }) => a.n + 1)
`

/**
 * Each rule the types enforce, as one small file, and the text a user reads in the compiler's
 * output. A bare `@ts-expect-error` passes on any error; this checks that it is the one meant.
 */
const CASES: Array<[rule: string, code: string, message: string]> = [
  [
    'a field the upstream does not return',
    `p.task('x', { needs: ['a'] }, ({ a }) => a.missing)`,
    `Property 'missing' does not exist on type '{ n: number; s: string; }'`,
  ],
  [
    'needs naming an unknown task',
    `p.task('x', { needs: ['zzz'] }, () => 1)`,
    `Type '"zzz"' is not assignable to type '"a" | "b"'`,
  ],
  [
    'a duplicate task name',
    `p.task('a', async () => 1)`,
    `a task named 'a' already exists in this pipeline; task names must be unique`,
  ],
  [
    'an upstream not in needs',
    `p.task('x', { needs: ['a'] }, ({ b }) => b)`,
    `Property 'b' does not exist on type '{ a: { n: number; s: string; }; }'`,
  ],
  [
    'a function result',
    `p.task('x', async () => () => 1)`,
    'a task must return JSON (plain objects, arrays, strings, finite numbers, booleans, null)',
  ],
  ['a Date result', `p.task('x', () => ({ at: new Date() }))`, 'a task must return JSON'],
  ['a Map result', `p.task('x', () => new Map<string, number>())`, 'a task must return JSON'],
  ['a bigint result', `p.task('x', () => 1n)`, 'a task must return JSON'],
  ['an undefined result', `p.task('x', () => undefined)`, 'a task must return JSON'],
  [
    'a name with capitals',
    `p.task('Load', () => 1)`,
    `'Load' is not a valid name: use lowercase letters, digits and '-' only (no capitals)`,
  ],
  [
    'a name with an underscore',
    `p.task('load_orders', () => 1)`,
    `'load_orders' is not a valid name: use lowercase letters, digits and '-' only`,
  ],
  [
    'a name ending in -',
    `p.task('load-', () => 1)`,
    `'load-' is not a valid name: it must start and end with a letter or digit`,
  ],
  ['an empty name', `p.task('', () => 1)`, 'a name must not be empty'],
  [
    'a name over 40 characters',
    `p.task('${'x'.repeat(41)}', () => 1)`,
    `'${'x'.repeat(41)}' is not a valid name: it is longer than 40 characters (it becomes part of Kubernetes pod names)`,
  ],
  [
    'a misspelt task option',
    `p.task('x', { needs: ['a'], timeoutMs: 5000 }, () => 1)`,
    `'timeoutMs' does not exist in type 'TaskOptions<readonly ["a"], "all_success", Record<string, never>, { a: { n: number; s: string; }; }, undefined>'. Did you mean to write 'timeout'?`,
  ],
  [
    'a misspelt pod option',
    `p.pod('x', { retry: 2 }, { image: 'alpine:3.20' })`,
    `'retry' does not exist in type 'PodTaskOptions<`,
  ],
  [
    'poolSlots given as text',
    `p.task('x', { pool: 'warehouse', poolSlots: '2' }, () => 1)`,
    `Type 'string' is not assignable to type 'number'`,
  ],
  [
    'an upstream read without a check under all_done',
    `p.task('x', { needs: ['a'], triggerRule: 'all_done' }, ({ a }) => a.n)`,
    `'a' is possibly 'undefined'`,
  ],
  [
    'a pod output read as the wrong type',
    `p.pod('c', { output: json<{ k: number }>() }, { image: 'alpine:3.20' }).task('x', { needs: ['c'] }, ({ c }) => c.k.toUpperCase())`,
    `Property 'toUpperCase' does not exist on type 'number'`,
  ],
  [
    'a mapped task whose over does not return an array',
    `p.map('x', { needs: ['a'], over: ({ a }) => a }, (item) => item)`,
    `is not assignable to type 'readonly unknown[] | PodlineTypeError<"over must return an array: each element becomes one task run of the mapped task (return [] for none)">'`,
  ],
  [
    'a mapped task whose item is typed differently from the elements of over',
    `p.map('x', { needs: ['a'], over: ({ a }) => [a.s, a.s] }, (item: number) => item)`,
    `Types of parameters 'item' and 'item' are incompatible.\nType 'string' is not assignable to type 'number'`,
  ],
  [
    'a mapped task read downstream as one object instead of the array of its items',
    `p.map('m', { needs: ['a'], over: ({ a }) => [a.n] }, (n) => ({ rows: n })).task('x', { needs: ['m'] }, ({ m }) => m.rows)`,
    `Property 'rows' does not exist on type '{ rows: number; }[]'`,
  ],
  [
    'a mapped pod task whose spec function takes the wrong item type',
    `p.mapPod('x', { over: () => ['a.csv'] }, (file: number) => ({ image: 'alpine:3.20', args: [String(file)] }))`,
    `Type 'string' is not assignable to type 'number'`,
  ],
  [
    "a wait's signal read for a field its schema does not have",
    `import { z } from 'zod'
p.wait('ok', { needs: ['a'], signal: z.object({ approved: z.boolean() }) }).task('x', { needs: ['ok'] }, ({ ok }) => ok.by)`,
    `Property 'by' does not exist on type '{ approved: boolean; }'`,
  ],
  [
    'a concurrency key reading a param the schema does not have',
    `import { z } from 'zod'
pipeline('sync', { params: z.object({ customer: z.string() }), concurrency: { key: ({ params }) => params.client } })`,
    `Property 'client' does not exist on type '{ customer: string; }'`,
  ],
  [
    'a concurrency key that is not a string',
    `import { z } from 'zod'
pipeline('sync', { params: z.object({ shard: z.number() }), concurrency: { key: ({ params }) => params.shard } })`,
    `Type 'number' is not assignable to type 'string'`,
  ],
  [
    "a task's callback reading a param the schema does not have",
    `import { z } from 'zod'
pipeline('sync', { params: z.object({ shop: z.string() }) }).task('t', { retries: 1, onRetry: (task) => console.log(task.params.store) }, () => 1)`,
    `Property 'store' does not exist on type '{ shop: string; }'`,
  ],
  [
    "a task's concurrency key reading a param the schema does not have",
    `import { z } from 'zod'
pipeline('sync', { params: z.object({ shop: z.string() }) }).task('t', { concurrency: { key: ({ params }) => params.store } }, () => 1)`,
    `Property 'store' does not exist on type '{ shop: string; }'`,
  ],
  [
    'a priority computed as a string',
    `import { z } from 'zod'
pipeline('sync', { params: z.object({ tier: z.string() }) }).task('t', { priority: ({ params }) => params.tier }, () => 1)`,
    `Type 'string' is not assignable to type 'number'`,
  ],
  [
    "a task's concurrency key reading an input the task does not need",
    `p.task('c', { needs: ['a'], concurrency: { key: ({ inputs }) => inputs.b } }, () => 1)`,
    `Property 'b' does not exist on type '{ a: { n: number; s: string; }; }'`,
  ],
  [
    "a task's concurrency key reading a field its input does not have",
    `p.task('c', { needs: ['a'], concurrency: { key: ({ inputs }) => inputs.a.region } }, () => 1)`,
    `Property 'region' does not exist on type '{ n: number; s: string; }'`,
  ],
  [
    'a priority computed from an input that is a string',
    `p.pod('c', { needs: ['a'], priority: ({ inputs }) => inputs.a.s }, { image: 'alpine' })`,
    `Type 'string' is not assignable to type 'number'`,
  ],
  [
    "a pipeline's onRetry reading the run's failedTasks, which only a run's end has",
    `pipeline('sync', { onRetry: (task) => console.log(task.failedTasks) })`,
    `Property 'failedTasks' does not exist on type 'TaskEnded<Record<string, never>>'`,
  ],
  [
    'a task producing an asset with an output of another type',
    `import { asset } from '@podline/sdk'
import { z } from 'zod'
const orders = asset('warehouse.orders', z.object({ date: z.string(), rows: z.number() }))
p.task('load', { needs: ['a'], produces: orders }, ({ a }) => ({ date: a.s, rows: a.s }))`,
    `Type 'string' is not assignable to type 'number'`,
  ],
  [
    'a pod producing an asset without the asset’s output schema',
    `import { asset } from '@podline/sdk'
import { z } from 'zod'
const orders = asset('warehouse.orders', z.object({ rows: z.number() }))
p.pod('load', { produces: orders, output: z.object({ count: z.number() }) }, { image: 'alpine:3.20' })`,
    `the pod's output schema does not match the type of asset 'warehouse.orders' it produces: declare output with the asset's schema (output: asset.schema)`,
  ],
  [
    'a cache key reading an input the task does not need',
    `p.task('c', { needs: ['a'], cache: { version: '1', key: ({ b }) => String(b) } }, () => 1)`,
    `Property 'b' does not exist on type '{ a: { n: number; s: string; }; }'`,
  ],
  [
    'a cache without a version',
    `p.task('c', { needs: ['a'], cache: { ttl: '7d' } }, () => 1)`,
    `Property 'version' is missing in type '{ ttl: "7d"; }'`,
  ],
  [
    'a task reading an asset its pipeline does not run on',
    `import { asset } from '@podline/sdk'
import { z } from 'zod'
const orders = asset('warehouse.orders', z.object({ rows: z.number() }))
const customers = asset('crm.customers', z.object({ count: z.number() }))
pipeline('report', { on: orders }).task('sum', (_inputs, ctx) => ctx.assets['crm.customers'])`,
    `Property 'crm.customers' does not exist on type '{ readonly "warehouse.orders": AssetEvent<{ rows: number; }>; }'`,
  ],
]

const fileName = (i: number) => `case-${String(i + 1).padStart(2, '0')}.ts`

/** Every diagnostic of a `tsc --pretty false` run, grouped by file name, continuation lines included. */
function diagnosticsByFile(stdout: string): Map<string, string> {
  const byFile = new Map<string, string>()
  let current = ''
  for (const line of stdout.split('\n')) {
    const head = /^(?:.*\/)?([^/(]+)\(\d+,\d+\): error /.exec(line)
    if (head?.[1]) current = head[1]
    if (current) byFile.set(current, `${byFile.get(current) ?? ''}${line.trim()}\n`)
  }
  return byFile
}

// Against the sources (the `@podline/source` condition) and against the built .d.ts that ships.
describe.each([
  ['the sources', ['@podline/source']],
  ['the shipped .d.ts', []],
])('type errors read by users, against %s', (_what, conditions) => {
  const dir = join(
    root,
    'node_modules',
    '.cache',
    'podline-type-errors',
    conditions.length ? 'source' : 'shipped',
  )
  let diagnostics = new Map<string, string>()

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }')
    for (const [i, [, code]] of CASES.entries()) writeFileSync(join(dir, fileName(i)), `${header}${code}\n`)
    writeFileSync(
      join(dir, 'ok.ts'),
      `${header}export const fine = p
  .task('c', { needs: ['a', 'b'] }, ({ a, b }) => a.n + b)
  .task('d', { needs: ['a', 'c'], concurrency: { key: ({ inputs }) => inputs.a.s }, priority: ({ inputs }) => inputs.c }, () => 1)
  .map('e', { needs: ['a'], over: ({ a }) => [a.n], concurrency: { key: ({ inputs }) => inputs.a.s, limit: 2 } }, (n) => n)\n`,
    )
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.base.json'),
        compilerOptions: { noEmit: true, customConditions: conditions },
        include: ['*.ts'],
      }),
    )
    const tsc = join(root, 'node_modules', '.bin', 'tsc')
    const { stdout } = await run(tsc, ['-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], {
      cwd: root,
    }).catch((e: { stdout: string }) => e)
    diagnostics = diagnosticsByFile(stdout)
  }, 120_000)

  it('compiles the pipeline the cases start from', () => expect(diagnostics.get('ok.ts')).toBeUndefined())

  it.each(CASES.map(([rule, , message], i) => [rule, message, fileName(i)] as const))(
    '%s: says %j',
    (_rule, message, file) => {
      expect(diagnostics.get(file) ?? 'no error at all').toContain(message)
    },
  )
})
