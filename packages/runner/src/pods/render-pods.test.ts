import { pipeline } from '@podline/sdk'
import { Pod } from 'kubernetes-models/v1'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { renderPods } from './render-pods.js'

const etl = pipeline('nightly-etl', { params: z.object({ date: z.string() }) })
  .task('extract', async (_inputs, { params }) => ({ uri: `s3://raw/${params.date}.csv`, rows: 1200 }))
  .pod(
    'transform',
    { needs: ['extract'], output: z.object({ count: z.number() }) },
    ({ extract }, { params }) => ({
      image: 'ghcr.io/acme/transform:1.4',
      command: ['python', 'transform.py'],
      args: ['--input', extract.uri, '--date', params.date],
      env: { ROWS: String(extract.rows), HAS_URI: String('uri' in extract) },
    }),
  )
  .pod('static', {}, { image: 'alpine:3.20', command: ['true'] })

describe('renderPods', () => {
  it('renders every pod task without running anything, upstream values as placeholders', async () => {
    const { pods, unrendered } = await renderPods(
      etl,
      { date: '2026-11-21' },
      { namespace: 'etl', runId: 'preview' },
    )
    expect(unrendered).toEqual([])
    expect(pods.map((p) => p.metadata?.labels?.['podline.dev/task'])).toEqual(['transform', 'static'])
    const base = pods[0]!.spec!.containers[0]!
    expect(base.args).toEqual(['--input', '{{ extract.uri }}', '--date', '2026-11-21'])
    expect(base.env).toEqual(
      expect.arrayContaining([
        { name: 'ROWS', value: '{{ extract.rows }}' },
        { name: 'HAS_URI', value: 'true' },
      ]),
    )
    expect(pods[0]!.metadata?.namespace).toBe('etl')
    for (const pod of pods)
      expect(() => new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate()).not.toThrow()
  })

  it('renders one task on request and names the pod tasks when the name is wrong', async () => {
    expect((await renderPods(etl, { date: 'd' }, { task: 'static' })).pods).toHaveLength(1)
    await expect(renderPods(etl, { date: 'd' }, { task: 'extract' })).rejects.toThrow(
      /no pod task "extract" \(pod tasks: transform, static\)/,
    )
  })

  it('a spec that calls methods on upstream values renders placeholders instead of crashing with a TypeError', async () => {
    const p = pipeline('methods')
      .task('extract', async () => ({ values: [1, 2], day: '2026-11-21' }))
      .pod('load', { needs: ['extract'] }, ({ extract }) => ({
        image: 'alpine:3.20',
        command: ['load'],
        args: [extract.values.map((v) => String(v * 2)).join(','), extract.day.replaceAll('-', '')],
        env: Object.fromEntries(extract.values.map((v, i) => [`V${i}`, String(v)])),
      }))
    const { pods, unrendered } = await renderPods(p, {})
    expect(unrendered).toEqual([])
    expect(pods[0]?.spec?.containers[0]?.args).toEqual([
      '{{ extract.values.map(…).join(…) }}',
      '{{ extract.day.replaceAll(…) }}',
    ])
  })

  it('a spec that cannot be rendered without real values is reported by task and reason, and the other pods still render', async () => {
    const p = pipeline('unrenderable')
      .task('extract', async () => ({ day: '2026-11-21' }))
      .pod('dated', { needs: ['extract'] }, ({ extract }) => ({
        image: 'alpine:3.20',
        command: ['run', new Date(extract.day).toISOString()],
      }))
      .pod('static', {}, { image: 'alpine:3.20', command: ['true'] })
    const { pods, unrendered } = await renderPods(p, {})
    expect(pods.map((pod) => pod.metadata?.labels?.['podline.dev/task'])).toEqual(['static'])
    expect(unrendered).toEqual([{ task: 'dated', reason: 'Invalid time value' }])
  })
})
