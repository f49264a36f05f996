import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { FIXTURES, podline } from './__tests__/cli.js'

const FILE = join(FIXTURES, 'unrenderable-pods.ts')

const tasksOf = (yaml: string) =>
  parseAllDocuments(yaml).map(
    (d) => (d.toJS() as { metadata: { labels: Record<string, string> } }).metadata.labels['podline.dev/task'],
  )

describe('podline plan', () => {
  it('a pod spec that calls methods on upstream values, or cannot be rendered, is no raw TypeError crash', async () => {
    const r = await podline(['plan', FILE])
    expect(r.code).toBe(0)
    expect(tasksOf(r.stdout)).toEqual(['methods', 'static'])
    expect(r.stdout).toContain('{{ extract.day.replaceAll(…) }}')
    expect(r.stderr).toMatch(
      /the pod of task "dated" cannot be rendered without its upstream values \(its spec function threw: Invalid time value\)/,
    )
    expect(r.stderr).not.toMatch(/TypeError|at .*\.ts:\d+/)
  })

  it('--strict exits 1 when a pod cannot be rendered, still printing the others', async () => {
    const r = await podline(['plan', FILE, '--strict'])
    expect(r.code).toBe(1)
    expect(tasksOf(r.stdout)).toEqual(['methods', 'static'])
    expect(r.stderr).toMatch(/task "dated"/)
  })
})
