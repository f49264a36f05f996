import type { V1Container, V1Deployment } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { mustFind, render } from './support/render.js'
import { hasProgram, KUSTOMIZATIONS, TASK_NAMESPACE } from './support/repo.js'

/** The variables the worker reads (apps/worker config); anything else is a typo the worker ignores. */
const WORKER_ENV = new Set([
  'DATABASE_URL',
  'PODLINE_PIPELINES',
  'PODLINE_CONCURRENCY',
  'PODLINE_HTTP_PORT',
  'PODLINE_RUNTIME',
  'PODLINE_NAMESPACE',
  'PODLINE_KUBE_CONTEXT',
  'PODLINE_SIDECAR_IMAGE',
  'PODLINE_SIDECAR_MODE',
  'PODLINE_LOG_LEVEL',
  'PODLINE_DRAIN_TIMEOUT_MS',
  'PODLINE_UI_PORT',
  'PODLINE_UI_TOKEN',
])

const kubectl = hasProgram('kubectl', ['version', '--client'])

function workerOf(k: (typeof KUSTOMIZATIONS)[number]): { deployment: V1Deployment; worker: V1Container } {
  const deployment = mustFind(render(k), 'Deployment', 'podline-worker') as V1Deployment
  const worker = deployment.spec?.template.spec?.containers.find((c) => c.name === 'worker')
  if (!worker) throw new Error(`${k}: the worker Deployment has no container named worker`)
  return { deployment, worker }
}

describe.skipIf(!kubectl)(
  `worker Deployment${kubectl ? '' : ' (skipped: kubectl is not on the PATH)'}`,
  () => {
    it.each(KUSTOMIZATIONS)('%s: the worker reads only variables it knows, wired as documented', (k) => {
      const { worker } = workerOf(k)
      const env = new Map((worker.env ?? []).map((e) => [e.name, e]))
      for (const name of env.keys()) expect(WORKER_ENV, `unknown variable ${name}`).toContain(name)
      expect(env.get('DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'podline-db', key: 'url' })
      expect(env.get('PODLINE_NAMESPACE')?.value).toBe(TASK_NAMESPACE)
      expect(env.get('PODLINE_HTTP_PORT')?.value).toBe('8080')
      expect(Number(env.get('PODLINE_CONCURRENCY')?.value)).toBeGreaterThan(0)
    })

    it.each(KUSTOMIZATIONS)(
      '%s: probes, metrics, non-root read-only container, drain within the grace period',
      (k) => {
        const { deployment, worker } = workerOf(k)
        const pod = deployment.spec?.template
        expect(worker.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' })
        expect(worker.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' })
        expect(worker.ports).toContainEqual({ name: 'http', containerPort: 8080 })
        expect(pod?.metadata?.annotations).toMatchObject({
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': '8080',
          'prometheus.io/path': '/metrics',
        })
        expect(worker.resources?.requests).toHaveProperty('memory')
        expect(worker.resources?.limits).toHaveProperty('memory')
        expect(pod?.spec?.securityContext?.runAsNonRoot).toBe(true)
        expect(worker.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        })
        const tmp = worker.volumeMounts?.find((m) => m.mountPath === '/tmp')
        expect(
          pod?.spec?.volumes?.find((v) => v.name === tmp?.name)?.emptyDir,
          'an emptyDir at /tmp',
        ).toBeDefined()

        const grace = pod?.spec?.terminationGracePeriodSeconds ?? 30
        const preStop = Number(worker.lifecycle?.preStop?.exec?.command?.at(-1))
        const drainMs = Number(worker.env?.find((e) => e.name === 'PODLINE_DRAIN_TIMEOUT_MS')?.value)
        expect(preStop).toBeGreaterThan(0)
        expect(preStop + drainMs / 1000, 'preStop sleep + drain must end before SIGKILL').toBeLessThan(grace)
      },
    )

    it.each(KUSTOMIZATIONS)('%s: the migration Job runs `podline migrate` on the same Secret', (k) => {
      const job = mustFind(render(k), 'Job', 'podline-migrate') as {
        spec: { template: { spec: { containers: V1Container[] } } }
      }
      const [container] = job.spec.template.spec.containers
      const { worker } = workerOf(k)
      expect(container?.command).toEqual(['podline', 'migrate'])
      expect(container?.image).toBe(worker.image)
      expect(container?.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({
        name: 'podline-db',
        key: 'url',
      })
    })
  },
)
