import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { runLocal } from '../run-local.js'
import type { Database } from '../store/database.js'
import { openFreshDatabase } from '../testing/index.js'
import { LABEL_MAP_INDEX, podName } from './pod-identity.js'
import { renderPods } from './render-pods.js'

/** One pod per file: each writes its item and its index (PODLINE_MAP_INDEX) as its result. */
const perFile = (name: string, keep: boolean) =>
  pipeline(name)
    .task('list', () => ({ files: ['a.csv', 'b.csv', 'c.csv'] }))
    .mapPod(
      'score',
      {
        needs: ['list'],
        over: ({ list }) => list.files,
        output: z.object({ file: z.string(), index: z.number() }),
        maxParallel: 2,
        ...(keep ? { onFinish: 'keep_pod' as const } : {}),
      },
      (file) => ({
        image: 'alpine:3.20',
        command: [
          'sh',
          '-c',
          `echo "{\\"file\\": \\"${file}\\", \\"index\\": $PODLINE_MAP_INDEX}" > $PODLINE_XCOM_PATH`,
        ],
      }),
    )
    .task('total', { needs: ['score'] }, ({ score }) => score.map((s) => `${s.index}:${s.file}`).join(' '))

const expected = {
  list: { files: ['a.csv', 'b.csv', 'c.csv'] },
  score: [
    { file: 'a.csv', index: 0 },
    { file: 'b.csv', index: 1 },
    { file: 'c.csv', index: 2 },
  ],
  total: '0:a.csv 1:b.csv 2:c.csv',
}

describe('a mapped pod task', () => {
  let database: Database
  let close = async () => {}
  let double: KubeDouble
  beforeAll(async () => {
    ;({ database, close } = await openFreshDatabase())
    double = await startKubeDouble()
  })
  afterAll(async () => {
    await close()
    await double?.close()
  })

  /** The pod_name XCom of each item of `task`, by index. */
  const podNames = (runId: string) =>
    database.rows<{ map_index: number; value: string }>(sql`
      select map_index, value #>> '{}' as value from podline.xcoms
      where run_id = ${runId}::uuid and task = 'score' and key = 'pod_name' order by map_index`)

  it('runs one pod per item through the process runtime, each named with its index', async () => {
    let runId = ''
    const out = await runLocal(perFile('per-file-process', false), undefined, {
      database,
      runtime: 'process',
      onRun: (id) => {
        runId = id
      },
    })
    expect(out).toEqual(expected)
    const names = await podNames(runId)
    expect(names.map((n) => n.map_index)).toEqual([0, 1, 2])
    for (const { map_index, value } of names)
      expect(value).toMatch(new RegExp(`^per-file-process-score-i${map_index}-a1-[0-9a-f]{8}$`))
    expect(new Set(names.map((n) => n.value)).size).toBe(3)
  })

  it('runs one pod per item on the Kubernetes double, labelled with its index', async () => {
    let runId = ''
    const out = await runLocal(perFile('per-file-kube', true), undefined, {
      database,
      runtime: 'kubernetes',
      kube: { kubeconfig: double.kubeconfigPath },
      onRun: (id) => {
        runId = id
      },
    })
    expect(out).toEqual(expected)
    const pods = double.pods().filter((p) => p.metadata.labels?.['podline.dev/run'] === runId)
    expect(pods.map((p) => p.metadata.labels?.[LABEL_MAP_INDEX]).sort()).toEqual(['0', '1', '2'])
    const names = await podNames(runId)
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(names.map((n) => n.value).sort())
  })

  it('podline plan renders a mapped pod task as its first item, the item a placeholder', async () => {
    const { pods, unrendered } = await renderPods(perFile('per-file-plan', false), {})
    expect(unrendered).toEqual([])
    expect(pods[0]?.metadata?.name).toMatch(/^per-file-plan-score-i0-a1-/)
    expect(pods[0]?.metadata?.labels?.[LABEL_MAP_INDEX]).toBe('0')
    expect(JSON.stringify(pods[0]?.spec?.containers)).toContain('{{ item }}')
  })

  it('names the pods of two items of one attempt apart, and apart from an unmapped task', () => {
    const id = { store: 's', pipeline: 'p', runId: 'r', task: 't', attempt: 1 }
    const names = [podName(id), podName({ ...id, mapIndex: 0 }), podName({ ...id, mapIndex: 1 })]
    expect(new Set(names).size).toBe(3)
    expect(names[2]).toMatch(/^p-t-i1-a1-[0-9a-f]{8}$/)
  })
})
