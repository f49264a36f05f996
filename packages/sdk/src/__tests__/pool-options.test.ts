import { describe, expect, it } from 'vitest'
import { type Pipeline, pipeline, poolNameProblem } from '../index.js'

// Plain-JS callers bypass the types; these casts stand in for them.
type Loose = {
  task: (...args: unknown[]) => Loose
  pod: (...args: unknown[]) => Loose
  map: (...args: unknown[]) => Loose
  mapPod: (...args: unknown[]) => Loose
} & Pipeline
const loose = (p: unknown) => p as Loose

describe('pool and poolSlots', () => {
  const base = pipeline('pooled').task('extract', () => ({ rows: 2 }))

  it('puts the pool and its slots (default 1) in each kind of task, and in the plan', () => {
    const p = base
      .task('load', { needs: ['extract'], pool: 'warehouse' }, () => 1)
      .pod('copy', { pool: 'warehouse', poolSlots: 2, retries: 1 }, { image: 'alpine:3.20' })
      .map('each', { needs: ['extract'], over: () => [1, 2], pool: 'api' }, (i) => i)
      .mapPod('scan', { over: () => ['a'], pool: 'default_pool', poolSlots: 3 }, (f) => ({
        image: 'alpine:3.20',
        args: [f],
      }))
    const options = Object.fromEntries(p.plan().tasks.map((t) => [t.name, t.options]))
    expect(options.extract).not.toHaveProperty('pool')
    expect(options.extract).not.toHaveProperty('poolSlots')
    expect(options.load).toMatchObject({ pool: 'warehouse', poolSlots: 1 })
    expect(options.copy).toMatchObject({ pool: 'warehouse', poolSlots: 2, retries: 1 })
    expect(options.each).toMatchObject({ pool: 'api', poolSlots: 1 })
    expect(options.scan).toMatchObject({ pool: 'default_pool', poolSlots: 3 })
    // A pod task's pool is the task's option, never a field of its pod.
    const copy = p.plan().tasks.find((t) => t.name === 'copy')
    expect(copy?.pod?.run).toEqual({})
  })

  it('changes the version when the pool or its slots change, and only then', () => {
    const version = (options: object) =>
      loose(base)
        .task('load', options, () => 1)
        .plan().version
    const plain = version({})
    const warehouse = version({ pool: 'warehouse' })
    expect(warehouse).not.toBe(plain)
    expect(version({ pool: 'other' })).not.toBe(warehouse)
    expect(version({ pool: 'warehouse', poolSlots: 2 })).not.toBe(warehouse)
    expect(version({ pool: 'warehouse', poolSlots: 1 })).toBe(warehouse)
    expect(version({})).toBe(plain)
  })

  it('leaves the version of a pipeline without pools as it was before pools existed', () => {
    const p = pipeline('pool-free')
      .task('extract', { retries: 2, timeout: '5m' }, () => 1)
      .pod('load', { needs: ['extract'] }, { image: 'alpine:3.20' })
      .map('each', { needs: ['extract'], over: () => [1, 2], maxParallel: 2 }, (i) => i)
    // Computed by the SDK before `pool` was an option: workers keep serving the versions they had.
    expect(p.plan().version).toBe('f32e8fdb1ff9c640')
  })

  it.each([
    [
      { pool: 'w', poolSlots: 0 },
      'poolSlots must be a positive integer (the slots of its pool one task run takes), got 0',
    ],
    [{ pool: 'w', poolSlots: -1 }, 'got -1'],
    [{ pool: 'w', poolSlots: 1.5 }, 'got 1.5'],
    [{ pool: 'w', poolSlots: '2' }, 'got 2'],
    [{ poolSlots: 2 }, 'task "load": poolSlots takes slots of a pool; name it with pool'],
    [{ pool: '' }, 'task "load": invalid pool name "": a pool name is 1-100 letters'],
    [{ pool: 'ware house' }, 'invalid pool name "ware house"'],
    [{ pool: 3 }, 'task "load": pool must be a string'],
  ])('refuses %j at definition, for every kind of task', (options, message) => {
    expect(() => loose(base).task('load', options, () => 1)).toThrow(message)
    expect(() => loose(base).pod('load', options, { image: 'alpine:3.20' })).toThrow(message)
    expect(() => loose(base).map('load', { ...options, over: () => [] }, () => 1)).toThrow(message)
    expect(() => loose(base).mapPod('load', { ...options, over: () => [] }, () => ({ image: 'x' }))).toThrow(
      message,
    )
  })

  it('takes the pool names Airflow users have', () => {
    for (const name of ['warehouse', 'default_pool', 'API-Calls', 'gpu.a100', 'x'.repeat(100)])
      expect(poolNameProblem(name)).toBeUndefined()
    for (const name of ['', '_x', '.x', 'a/b', 'x'.repeat(101), 'a b'])
      expect(poolNameProblem(name)).toMatch(/invalid pool name/)
  })
})
