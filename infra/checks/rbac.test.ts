import { describe, expect, it } from 'vitest'
import { type KubeObject, mustFind, render } from './support/render.js'
import { hasProgram, KUSTOMIZATIONS, TASK_NAMESPACE } from './support/repo.js'

/** What the pod launcher calls, as `resource:verb`; the Role comments say why each is needed. */
const BASE_GRANTS = [
  'pods:create',
  'pods:get',
  'pods:list',
  'pods:watch',
  'pods:delete',
  'pods:patch',
  'pods/log:get',
  'events:list',
]
/** The exec API signals the sidecar in the compatibility mode only. */
const EXEC_GRANTS = ['pods/exec:create', 'pods/exec:get']

const EXPECTED: Record<(typeof KUSTOMIZATIONS)[number], string[]> = {
  base: BASE_GRANTS,
  'overlays/dev': BASE_GRANTS,
  'overlays/keda': BASE_GRANTS,
  'overlays/compat-exec': [...BASE_GRANTS, ...EXEC_GRANTS],
}

interface Rule {
  apiGroups?: string[]
  resources?: string[]
  verbs?: string[]
  resourceNames?: string[]
  nonResourceURLs?: string[]
}

function rulesOf(objects: KubeObject[]): Rule[] {
  return objects.filter((o) => o.kind === 'Role').flatMap((o) => (o.rules as Rule[] | undefined) ?? [])
}

const kubectl = hasProgram('kubectl', ['version', '--client'])

describe.skipIf(!kubectl)(`RBAC${kubectl ? '' : ' (skipped: kubectl is not on the PATH)'}`, () => {
  it.each(KUSTOMIZATIONS)('%s: namespaced only, no wildcard', (k) => {
    const objects = render(k)
    expect(objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([])
    for (const rule of rulesOf(objects)) {
      const values = [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames, rule.nonResourceURLs]
      expect(
        values.flat().filter((v) => v?.includes('*')),
        JSON.stringify(rule),
      ).toEqual([])
      expect(rule.apiGroups, 'core API group only').toEqual([''])
    }
  })

  it.each(KUSTOMIZATIONS)('%s: grants exactly what the worker calls', (k) => {
    const grants = rulesOf(render(k)).flatMap((r) =>
      (r.resources ?? []).flatMap((res) => (r.verbs ?? []).map((verb) => `${res}:${verb}`)),
    )
    expect([...new Set(grants)].sort()).toEqual([...EXPECTED[k]].sort())
  })

  it.each(KUSTOMIZATIONS)('%s: the Role is bound to the service account the workers run as', (k) => {
    const objects = render(k)
    const binding = mustFind(objects, 'RoleBinding', 'podline-worker') as KubeObject & {
      roleRef: { kind: string; name: string }
      subjects: { kind: string; name: string; namespace?: string }[]
    }
    mustFind(objects, binding.roleRef.kind, binding.roleRef.name)
    const deployment = mustFind(objects, 'Deployment', 'podline-worker') as KubeObject & {
      spec: { template: { spec: { serviceAccountName?: string } } }
    }
    const account = deployment.spec.template.spec.serviceAccountName
    expect(account).toBeDefined()
    mustFind(objects, 'ServiceAccount', account as string)
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: account, namespace: 'podline' }])
  })

  it.each(KUSTOMIZATIONS)(
    '%s: task pods run in a namespace of their own, under Pod Security Admission, apart from the database Secret',
    (k) => {
      const objects = render(k)
      const tasks = mustFind(objects, 'Namespace', TASK_NAMESPACE)
      expect(tasks.metadata.labels).toMatchObject({
        'pod-security.kubernetes.io/enforce': 'baseline',
        'pod-security.kubernetes.io/warn': 'restricted',
      })
      // The workers may touch pods only there; the Secret they read stays where no task pod runs.
      for (const o of objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding'))
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(TASK_NAMESPACE)
      for (const o of objects.filter((o) => o.kind === 'Secret'))
        expect(o.metadata.namespace, `Secret/${o.metadata.name}`).not.toBe(TASK_NAMESPACE)
      const deployment = mustFind(objects, 'Deployment', 'podline-worker') as KubeObject & {
        metadata: { namespace: string }
        spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } }
      }
      expect(deployment.metadata.namespace).not.toBe(TASK_NAMESPACE)
      const env = deployment.spec.template.spec.containers.flatMap((c) => c.env ?? [])
      expect(env.find((e) => e.name === 'PODLINE_NAMESPACE')?.value).toBe(TASK_NAMESPACE)
    },
  )
})
