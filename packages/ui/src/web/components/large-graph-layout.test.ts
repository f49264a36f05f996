import { describe, expect, it } from 'vitest'
import { layeredPositions } from './large-graph-layout.js'

const size = { width: 100, height: 40, columnGap: 50, rowGap: 10 }

describe('the linear-time layout of large graphs', () => {
  it('puts each task one column after the furthest task it needs, and no two tasks on one spot', () => {
    const tasks = [
      { task: 'root', needs: [] },
      { task: 'a', needs: ['root'] },
      { task: 'b', needs: ['root'] },
      { task: 'c', needs: ['a'] },
      { task: 'join', needs: ['b', 'c'] },
    ]
    const p = layeredPositions(tasks, size)
    const column = (t: string) => ((p.get(t)?.x ?? 0) - 50) / 150
    expect(tasks.map((t) => column(t.task))).toEqual([0, 1, 1, 2, 3])
    const spots = new Set([...p.values()].map((v) => `${v.x},${v.y}`))
    expect(spots.size).toBe(tasks.length)
  })

  it('lays out a 2,000-task fan-out: the middle tasks share one column, in their order', () => {
    const middle = Array.from({ length: 1998 }, (_, i) => ({ task: `m${i}`, needs: ['root'] }))
    const tasks = [{ task: 'root', needs: [] }, ...middle, { task: 'join', needs: middle.map((m) => m.task) }]
    const p = layeredPositions(tasks, size)
    const ys = middle.map((m) => p.get(m.task)?.y ?? Number.NaN)
    expect(new Set(middle.map((m) => p.get(m.task)?.x)).size).toBe(1)
    expect(ys).toEqual([...ys].sort((a, b) => a - b))
    expect(p.get('join')?.x).toBeGreaterThan(p.get('m0')?.x ?? Number.POSITIVE_INFINITY)
  })
})
