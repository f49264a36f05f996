import { PatchStrategy, setHeaderOptions, type V1Pod, Watch } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientFor } from './__tests__/double-client.js'
import { type KubeDouble, startKubeDouble } from './kube-double.js'

let double: KubeDouble
let client: ReturnType<typeof clientFor>

beforeAll(async () => {
  double = await startKubeDouble({ containers: { simulate: () => ({ runMs: 'until-stopped' }) } })
  client = clientFor(double)
})
afterAll(async () => {
  await double.close()
})

const createInTeam = (name: string, team: string) =>
  client.api.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name, labels: { team } },
      spec: { containers: [{ name: 'c', image: 'alpine:3.20' }] },
    },
  })

const relabel = (name: string, team: string) =>
  client.api.patchNamespacedPod(
    { name, namespace: 'default', body: { metadata: { labels: { team } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  )

/** A watch on `team=a` from `resourceVersion` (or from now): its ADDED and DELETED events, until `count` of them. */
async function watchTeamA(count: number, act: () => Promise<unknown>, resourceVersion?: string) {
  const seen: string[] = []
  const controller = await new Watch(client.kc).watch(
    '/api/v1/namespaces/default/pods',
    { labelSelector: 'team=a', ...(resourceVersion ? { resourceVersion } : {}) },
    (type, pod: V1Pod) => {
      if (type === 'ADDED' || type === 'DELETED') seen.push(`${type} ${pod.metadata?.name}`)
    },
    () => {},
  )
  await act()
  for (let i = 0; i < 200 && seen.length < count; i++) await new Promise((r) => setTimeout(r, 10))
  controller.abort()
  return seen
}

describe('a watch with a label selector', () => {
  it('sees a pod leave the selector as DELETED and come back as ADDED, as the API server reports it', async () => {
    const seen = await watchTeamA(3, async () => {
      await createInTeam('mover', 'a')
      await relabel('mover', 'b')
      await relabel('mover', 'a')
    })
    expect(seen.filter((e) => !e.startsWith('MODIFIED'))).toEqual([
      'ADDED mover',
      'DELETED mover',
      'ADDED mover',
    ])
  })

  it('resumed from a version, replays the same transitions and nothing for pods that never matched', async () => {
    const list = await client.api.listNamespacedPod({ namespace: 'default', labelSelector: 'team=a' })
    const from = list.metadata?.resourceVersion ?? ''
    await relabel('mover', 'b')
    await createInTeam('other', 'b')
    await relabel('other', 'c')
    const seen = await watchTeamA(1, async () => {}, from)
    expect(seen).toEqual(['DELETED mover'])
  })
})
