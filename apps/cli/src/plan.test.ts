import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { FIXTURES, podline } from './__tests__/cli.js'

const FILE = join(FIXTURES, 'unrenderable-pods.ts')
const PARAMS = join(FIXTURES, 'params-pods.ts')

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

  it('without --params, a pipeline with required params is rendered with placeholders for them, and says how to pass them', async () => {
    const r = await podline(['plan', PARAMS])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('s3://raw-{{ params.region }}/{{ params.date }}.csv')
    expect(r.stderr).toMatch(
      /^podline plan: no --params, and the pipeline needs some \(params of pipeline "params-pods" failed validation: date: .*\): the pods show \{\{ params\.… \}\} where a param goes; pass --params '\{…\}' to see them with values\n$/,
    )
  })

  it('with --params, they are used, and wrong ones are exit 2 without talking of a run (plan creates none)', async () => {
    const ok = await podline(['plan', PARAMS, '--params', '{"date":"2026-11-21","region":"eu"}'])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toContain('s3://raw-eu/2026-11-21.csv')
    expect(ok.stderr).toBe('')
    const wrong = await podline(['plan', PARAMS, '--params', '{"date":"2026-11-21","region":"mars"}'])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(
      /--params .*: params of pipeline "params-pods" failed validation: region: .*\. Fix --params/,
    )
    expect(wrong.stderr).not.toMatch(/no run was created/)
  })
})
