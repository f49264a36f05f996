import { describe, expect, it } from 'vitest'
import { find, mustFind, render } from './support/render.js'
import { hasProgram, KUSTOMIZATIONS, TASK_NAMESPACE } from './support/repo.js'

const kubectl = hasProgram('kubectl', ['version', '--client'])

describe.skipIf(!kubectl)(
  `kustomize renders${kubectl ? '' : ' (skipped: kubectl is not on the PATH)'}`,
  () => {
    it.each(KUSTOMIZATIONS)('infra/k8s/%s renders with kubectl kustomize', (k) => {
      const objects = render(k)
      expect(objects.length).toBeGreaterThan(0)
      // Everything lands in the podline namespace but the Namespaces themselves and the task pods'
      // RBAC, which lives in their namespace.
      for (const o of objects.filter((o) => o.kind !== 'Namespace')) {
        const where = o.kind === 'Role' || o.kind === 'RoleBinding' ? TASK_NAMESPACE : 'podline'
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(where)
      }
      for (const kind of ['Namespace', 'ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'Job']) {
        expect(objects.map((o) => o.kind)).toContain(kind)
      }
      expect(objects.map((o) => o.kind)).toContain('PodDisruptionBudget')
    })

    it('dev runs PostgreSQL, its Secret and two workers of the kind-loaded image', () => {
      const objects = render('overlays/dev')
      const postgres = mustFind(objects, 'StatefulSet', 'postgres')
      expect(postgres.spec).toMatchObject({ replicas: 1, serviceName: 'postgres' })
      mustFind(objects, 'Service', 'postgres')
      const secret = mustFind<{ stringData?: Record<string, string> }>(objects, 'Secret', 'podline-db')
      expect(secret.stringData?.url).toMatch(/^postgres:\/\/.+@postgres:5432\//)
      const worker = mustFind<{ spec: { replicas?: number } }>(objects, 'Deployment', 'podline-worker')
      expect(worker.spec.replicas).toBe(2)
      expect(JSON.stringify(worker)).toContain('"image":"podline-worker:dev"')
    })

    it('keda scales the worker Deployment from the queue, down to zero', () => {
      const objects = render('overlays/keda')
      const scaled = mustFind<{
        spec: {
          minReplicaCount: number
          scaleTargetRef: { name: string }
          triggers: { type: string; metadata: { query: string }; authenticationRef: { name: string } }[]
        }
      }>(objects, 'ScaledObject', 'podline-worker')
      expect(scaled.spec.minReplicaCount).toBe(0)
      mustFind(objects, 'Deployment', scaled.spec.scaleTargetRef.name)
      const queries = scaled.spec.triggers.map((t) => t.metadata.query)
      expect(queries).toContain(
        "SELECT count(*) FROM podline.task_runs WHERE state = 'queued' AND available_at <= now()",
      )
      // Claimable retries, and tasks still running (else scaling in would drain their workers).
      expect(queries).toContain(
        "SELECT count(*) FROM podline.task_runs WHERE state = 'up_for_retry' AND available_at <= now()",
      )
      expect(queries).toContain("SELECT count(*) FROM podline.task_runs WHERE state = 'running'")
      for (const trigger of scaled.spec.triggers) {
        expect(trigger.type).toBe('postgresql')
        const auth = mustFind(objects, 'TriggerAuthentication', trigger.authenticationRef.name)
        expect(auth.spec).toEqual({
          secretTargetRef: [{ parameter: 'connection', name: 'podline-db', key: 'url' }],
        })
      }
      // KEDA owns the count: a replicas field would fight it on every apply.
      const worker = mustFind<{ spec: Record<string, unknown> }>(objects, 'Deployment', 'podline-worker')
      expect(worker.spec).not.toHaveProperty('replicas')
      expect(find(objects, 'Secret', 'podline-db')).toBeUndefined()
    })

    it('compat-exec switches the workers to the exec sidecar mode', () => {
      const worker = mustFind(render('overlays/compat-exec'), 'Deployment', 'podline-worker')
      expect(JSON.stringify(worker)).toContain('{"name":"PODLINE_SIDECAR_MODE","value":"exec"}')
      for (const k of ['base', 'overlays/dev', 'overlays/keda'] as const) {
        expect(JSON.stringify(render(k)), k).not.toContain('PODLINE_SIDECAR_MODE')
      }
    })
  },
)
