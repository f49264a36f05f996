import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  assertJson,
  guardInputs,
  InputAccessError,
  InvalidNameError,
  isPipeline,
  NotJsonError,
  type Pipeline,
  PipelineDefinitionError,
  pipeline,
  resolveTaskOptions,
  retryDelayMs,
} from '../index.js'

// Plain-JS callers bypass the types; these casts stand in for them.
type Loose = { task: (...args: unknown[]) => Loose; pod: (...args: unknown[]) => Loose } & Pipeline
const loose = (p: unknown) => p as Loose

describe('names', () => {
  it.each(['Load', 'load_orders', 'a.b', '-x', 'x-', '', 'a'.repeat(41), 'with space'])(
    'refuses %j',
    (name) => {
      expect(() => pipeline('ok').task(name as 'x', () => 1)).toThrow(InvalidNameError)
      expect(() => pipeline(name)).toThrow(/lowercase letters, digits and '-'/)
    },
  )
  it('accepts DNS-1123 labels', () => {
    expect(
      pipeline('nightly-etl-2')
        .task('load-orders', () => 1)
        .tasks.map((t) => t.name),
    ).toEqual(['load-orders'])
  })
})

describe('definition checks for plain-JS callers', () => {
  const base = pipeline('demo').task('a', () => ({ n: 1 }))
  it('refuses a duplicate task name', () => {
    expect(() => loose(base).task('a', () => 2)).toThrow(/a task named "a" already exists/)
  })
  it('refuses needs naming an unknown or later task', () => {
    expect(() => loose(base).task('b', { needs: ['zzz'] }, () => 1)).toThrow(PipelineDefinitionError)
    expect(() => loose(base).task('b', { needs: ['zzz'] }, () => 1)).toThrow(
      /needs "zzz", which is not defined before it/,
    )
  })
  it('refuses needs that is not an array, and a missing function', () => {
    expect(() => loose(base).task('b', { needs: 'a' }, () => 1)).toThrow(/needs must be an array/)
    expect(() => loose(base).task('b', {})).toThrow(/last argument must be the task function/)
  })
  it('refuses a pod spec without an image', () => {
    expect(() => loose(base).pod('p', {}, { command: ['x'] })).toThrow(/must be an object with an image/)
  })
  it('refuses bad options with the option named', () => {
    expect(() => base.task('b', { retries: -1 }, () => 1)).toThrow(/retries must be a non-negative integer/)
    expect(() => base.task('b', { timeout: '5 minutes' as '5m' }, () => 1)).toThrow(/is not a duration/)
    expect(() => loose(base).task('b', { triggerRule: 'sometimes' }, () => 1)).toThrow(
      /unknown triggerRule "sometimes"/,
    )
  })
  it('a misspelt task option (timeoutMs, retry) is refused at definition, naming the known ones', () => {
    expect(() => loose(base).task('b', { needs: ['a'], timeoutMs: 5000 }, () => 1)).toThrow(
      PipelineDefinitionError,
    )
    expect(() => loose(base).task('b', { timeoutMs: 5000 }, () => 1)).toThrow(
      'task "b": unknown option "timeoutMs"; the options are needs, retries, retryDelay, timeout, triggerRule, priority, concurrency, pool, poolSlots, produces, cache, onFailure, onSuccess, onRetry',
    )
    expect(() => loose(base).pod('p', { retry: 2, timeoutMs: 1 }, { image: 'alpine:3.20' })).toThrow(
      /task "p": unknown options "retry", "timeoutMs"; the options are needs, retries, .*, output, onFinish, scheduleTimeout, skipOnExitCode, xcomPath, sidecar/,
    )
    expect(() => loose(base).task('b', 5, () => 1)).toThrow(/options must be an object/)
  })
  it('a task name over the length limit is refused at definition', () => {
    expect(() => loose(base).task('a'.repeat(41), () => 1)).toThrow(/1-40 characters/)
  })
  it('is immutable: a branch does not change its parent', () => {
    const left = base.task('left', () => 1)
    const right = base.task('right', () => 2)
    expect(base.tasks.map((t) => t.name)).toEqual(['a'])
    expect(left.tasks.map((t) => t.name)).toEqual(['a', 'left'])
    expect(right.tasks.map((t) => t.name)).toEqual(['a', 'right'])
    expect(Object.isFrozen(base)).toBe(true)
    expect(isPipeline(base)).toBe(true)
    expect(isPipeline({ name: 'x' })).toBe(false)
  })
})

describe('inputs at run time', () => {
  it('throws on an upstream not in needs', () => {
    const inputs = guardInputs('d', ['a'], { a: { n: 1, nested: { x: [1, 2] } }, b: 2 }) as Record<
      string,
      Record<string, unknown>
    >
    expect(() => inputs.b).toThrow(InputAccessError)
    expect(() => inputs.b).toThrow(/task "d" read the output of "b", but "b" is not in its needs \("a"\)/)
    expect(inputs.a?.n).toBe(1)
    expect((inputs.a!.nested as { x: number[] }).x.map((v) => v * 2)).toEqual([2, 4])
    expect(JSON.parse(JSON.stringify(inputs))).toEqual({ a: { n: 1, nested: { x: [1, 2] } } })
  })
  it('an optional field the upstream did not return reads as undefined, not an InputAccessError', async () => {
    const schema = z.object({ n: z.number(), note: z.string().optional() })
    const p = pipeline('optional')
      .task('a', (): z.infer<typeof schema> => schema.parse({ n: 1 }))
      .task('b', { needs: ['a'] }, ({ a }) => ({ note: a.note ?? 'none', deep: a.note?.length ?? 0 }))
    const def = p.tasks[1]
    if (def?.kind !== 'task') throw new Error('expected an inline task')
    expect(await def.run({ a: { n: 1 } }, {} as never)).toEqual({ note: 'none', deep: 0 })
  })
  it('an upstream with no output (skipped or failed under a tolerant rule) reads as undefined', async () => {
    const p = pipeline('tolerant')
      .task('a', () => ({ n: 1 }))
      .task('b', { needs: ['a'], triggerRule: 'all_done' }, ({ a }) => a?.n ?? -1)
    const def = p.tasks[1]
    if (def?.kind !== 'task') throw new Error('expected an inline task')
    expect(await def.run({}, {} as never)).toBe(-1)
  })
  it('runs the task function with guarded inputs', async () => {
    const p = loose(pipeline('demo').task('a', () => ({ n: 1 }))).task(
      'e',
      { needs: ['a'] },
      ({ b }: { b: unknown }) => b,
    )
    const def = p.tasks[1]
    if (def?.kind !== 'task') throw new Error('expected an inline task')
    expect(() => def.run({ a: { n: 1 } }, {} as never)).toThrow(/"b" is not in its needs/)
  })
})

describe('outputs must be JSON at run time', () => {
  it.each([
    [() => 1, 'output is a function'],
    [new Date(0), 'output is a Date instance'],
    [new Map(), 'output is a Map instance'],
    [10n, 'output is a bigint'],
    [undefined, 'output is undefined'],
    [{ a: [1, Number.NaN] }, 'output.a[1] is NaN'],
    [{ 'odd key': Number.POSITIVE_INFINITY }, 'output["odd key"] is Infinity'],
  ])('refuses %o', (value, where) => {
    expect(() => assertJson('t', value)).toThrow(NotJsonError)
    expect(() => assertJson('t', value)).toThrow(where)
  })
  it('refuses a cycle', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    expect(() => assertJson('t', cyclic)).toThrow(/output.self is a circular reference/)
  })
  it('accepts JSON, dropping undefined members like JSON does', () => {
    expect(() =>
      assertJson('t', { a: [1, 'x', null, true, { b: undefined }], c: Object.create(null) }),
    ).not.toThrow()
  })
})

describe('plan()', () => {
  const build = (retries = 1) =>
    pipeline('etl', { params: z.object({ day: z.string() }) })
      .task('extract', { retries, retryDelay: { initial: '2s', factor: 3 } }, () => ({ rows: 1 }))
      .pod('count', { needs: ['extract'], onFinish: 'keep_pod' }, { image: 'alpine:3.20' })
      .task('report', { needs: ['extract', 'count'], triggerRule: 'all_done', timeout: '1m' }, () => 1)

  it('describes tasks, kinds, needs and options as JSON', () => {
    const plan = build().plan()
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan)
    expect(plan.name).toBe('etl')
    expect(plan.hasParams).toBe(true)
    expect(plan.tasks.map((t) => [t.name, t.kind, t.needs])).toEqual([
      ['extract', 'task', []],
      ['count', 'pod', ['extract']],
      ['report', 'task', ['extract', 'count']],
    ])
    expect(plan.tasks[0]?.options.retryDelay).toEqual({
      initialMs: 2000,
      factor: 3,
      maxMs: 300_000,
      jitter: 0.2,
    })
    expect(plan.tasks[1]?.pod).toEqual({ hasOutput: false, spec: 'static', run: { onFinish: 'keep_pod' } })
    expect(plan.tasks[2]?.options).toMatchObject({ triggerRule: 'all_done', timeoutMs: 60_000 })
  })
  it('has a version hash that is stable and changes exactly with the structure', () => {
    expect(build().plan().version).toBe(build().plan().version)
    expect(build().plan().version).toMatch(/^[0-9a-f]{16}$/)
    expect(build(2).plan().version).not.toBe(build().plan().version)
    expect(
      build()
        .task('more', () => 1)
        .plan().version,
    ).not.toBe(build().plan().version)
    expect(pipeline('etl', { version: '2' }).plan().version).not.toBe(pipeline('etl').plan().version)
  })
})

describe('retry backoff', () => {
  const delay = resolveTaskOptions('t', {
    retries: 5,
    retryDelay: { initial: 1000, factor: 2, max: 5000, jitter: 0.5 },
  }).retryDelay
  it('grows exponentially up to the max', () => {
    const mid = () => 0.5
    expect([1, 2, 3, 4].map((n) => retryDelayMs(delay, n, mid))).toEqual([1000, 2000, 4000, 5000])
  })
  it('spreads by the jitter fraction', () => {
    expect(retryDelayMs(delay, 1, () => 0)).toBe(500)
    expect(retryDelayMs(delay, 1, () => 0.999999)).toBe(1500)
  })
})
