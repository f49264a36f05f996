import { describe, expect, it } from 'vitest'
import { type Pipeline, PipelineDefinitionError, pipeline } from '../index.js'

// Plain-JS callers bypass the types; these casts stand in for them.
type Loose = { map: (...args: unknown[]) => Loose; mapPod: (...args: unknown[]) => Loose } & Pipeline
const loose = (p: unknown) => p as Loose

describe('mapped task definitions', () => {
  const base = pipeline('m').task('list', () => ['a', 'b'])

  it('puts the map and its bound in the plan, so the version changes with them', () => {
    const two = base.map('each', { needs: ['list'], over: ({ list }) => list, maxParallel: 2 }, (x) => x)
    const three = base.map('each', { needs: ['list'], over: ({ list }) => list, maxParallel: 3 }, (x) => x)
    expect(two.plan().tasks[1]?.map).toEqual({ maxParallel: 2 })
    expect(two.plan().version).not.toBe(three.plan().version)
    expect(base.task('each', () => 1).plan().tasks[1]?.map).toBeUndefined()
  })

  it('passes the item, the guarded inputs and ctx to the function', async () => {
    const p = base.map(
      'each',
      { needs: ['list'], over: ({ list }) => list },
      (x, { list }) => `${x}${list.length}`,
    )
    const def = p.tasks[1]
    expect(def?.map?.over({ list: ['a', 'b'] })).toEqual(['a', 'b'])
    if (def?.kind !== 'task') throw new Error('expected an inline task')
    expect(await def.run({ list: ['a', 'b'] }, {} as never, 'b')).toBe('b2')
  })

  it('refuses an over that is not a function, a bad maxParallel and a missing function', () => {
    expect(() => loose(base).map('x', { needs: ['list'], over: ['a'] }, () => 1)).toThrow(
      /over must be a function from the inputs to the items/,
    )
    expect(() => loose(base).map('x', { over: () => [], maxParallel: 0 }, () => 1)).toThrow(
      /maxParallel must be a positive integer, got 0/,
    )
    expect(() => loose(base).map('x', { over: () => [] })).toThrow(PipelineDefinitionError)
    expect(() => loose(base).mapPod('x', { over: () => [] }, { image: 'alpine:3.20' })).toThrow(
      /mapPod "x": the last argument must be a function from the item to the pod spec/,
    )
    expect(() => loose(base).mapPod('x', { over: () => [], skipOnExitCode: 3 }, () => ({}))).toThrow(
      /unknown option "skipOnExitCode"/,
    )
  })
})
