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
    const pods = await renderPods(etl, { date: '2026-11-21' }, { namespace: 'etl', runId: 'preview' })
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
    expect(await renderPods(etl, { date: 'd' }, { task: 'static' })).toHaveLength(1)
    await expect(renderPods(etl, { date: 'd' }, { task: 'extract' })).rejects.toThrow(
      /no pod task "extract" \(pod tasks: transform, static\)/,
    )
  })
})
