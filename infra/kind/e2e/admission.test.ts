import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { V1Pod, V1SecurityContext } from '@kubernetes/client-node'
import { DEFAULT_SIDECAR_RESOURCES, DEFAULT_SIDECAR_SECURITY_CONTEXT } from '@podline/runner/pods'
import { pipeline } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { clusterOf, clusterOnly, probeCluster, requiring, title, whereItRuns } from './support/cluster.js'
import { createNamespace, deleteNamespace, podlinePods, requireLimitsQuota } from './support/namespace.js'
import { runOnCluster } from './support/run.js'

// What the API server's admission does to Podline's pods, as it ships: Pod Security "restricted"
// and a LimitRange's defaults. (ResourceQuota is in pods.test.ts.)

const probe = await probeCluster({ database: true })
const limitRange = requiring(
  probe,
  clusterOnly('the double has no LimitRange admission to fill in a container’s resources'),
)
const SHELL = probe.ok ? probe.cluster.shellImage : ''

/** What the restricted profile asks of a container whose image runs as root. */
const RESTRICTED_BASE: V1SecurityContext = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
}

const writes = (json: string) => ['sh', '-c', `printf '${json}' > "$PODLINE_XCOM_PATH"`]

describe.skipIf(!probe.ok)(title(`admission of Podline’s pods ${whereItRuns(probe)}`, probe), () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'podline-e2e-admission-'))
  const namespaces: string[] = []
  afterAll(async () => {
    for (const ns of namespaces) await deleteNamespace(clusterOf(probe), ns)
    rmSync(dataDir, { recursive: true, force: true })
  })

  /** The one pod a run of `pipeline` left (its tasks keep their pods). */
  async function podOf(namespace: string, name: string): Promise<V1Pod> {
    const pods = (await podlinePods(clusterOf(probe).core, namespace)).filter(
      (p) => p.metadata?.labels?.['podline.dev/pipeline'] === name,
    )
    expect(pods).toHaveLength(1)
    return pods[0] as V1Pod
  }

  describe('in a namespace that enforces Pod Security "restricted"', () => {
    let namespace = ''
    beforeAll(async () => {
      namespace = await createNamespace(clusterOf(probe), 'podline-e2e-restricted', {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      })
      namespaces.push(namespace)
    })

    it('admits a pod task whose base complies: the XCom sidecar passes with its default securityContext', async () => {
      const p = pipeline('e2e-restricted-ok').pod(
        'secure',
        { output: z.object({ secure: z.boolean() }), onFinish: 'keep_pod' },
        {
          image: SHELL,
          command: writes('{"secure":true}'),
          containerSecurityContext: RESTRICTED_BASE,
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
        },
      )
      const run = await runOnCluster(clusterOf(probe), p, { dataDir, namespace })
      expect(run.error).toBeUndefined()
      expect(run.outputs?.secure).toEqual({ secure: true })
      const pod = await podOf(namespace, 'e2e-restricted-ok')
      const sidecar = pod.spec?.initContainers?.find((c) => c.name === 'podline-xcom')
      expect(sidecar?.securityContext).toEqual(DEFAULT_SIDECAR_SECURITY_CONTEXT)
    }, 180_000)

    it('refuses a base that does not comply, naming base alone, as a fatal failure', async () => {
      const p = pipeline('e2e-restricted-refused').pod(
        'loose',
        { retries: 2 },
        { image: SHELL, command: writes('1') },
      )
      const run = await runOnCluster(clusterOf(probe), p, { dataDir, namespace })
      const message = run.error?.message ?? ''
      expect(message).toMatch(
        /the namespace's Pod Security admission refused it: pods "[^"]+" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "base" must set securityContext\.allowPrivilegeEscalation=false\), unrestricted capabilities \(container "base" must set securityContext\.capabilities\.drop=\["ALL"\]\), runAsNonRoot != true \(pod or container "base" must set securityContext\.runAsNonRoot=true\), seccompProfile \(pod or container "base" must set securityContext\.seccompProfile\.type to "RuntimeDefault" or "Localhost"\)/,
      )
      expect(message).not.toMatch(/podline-xcom/)
      // Fatal: the two retries the task allows are not spent on it.
      expect(run.attempts.filter((a) => a.type === 'started')).toHaveLength(1)
    }, 180_000)
  })

  describe.skipIf(!limitRange.ok)(
    title('in a namespace with a LimitRange and a ResourceQuota that requires limits', limitRange),
    () => {
      let namespace = ''
      const DEFAULTS = {
        default: { cpu: '150m', memory: '96Mi' },
        defaultRequest: { cpu: '15m', memory: '24Mi' },
      }
      beforeAll(async () => {
        const cluster = clusterOf(probe)
        namespace = await createNamespace(cluster, 'podline-e2e-limitrange')
        namespaces.push(namespace)
        await cluster.core.createNamespacedLimitRange({
          namespace,
          body: {
            metadata: { name: 'container-defaults' },
            spec: {
              limits: [
                {
                  type: 'Container',
                  // client-node's name for the field `default`.
                  _default: DEFAULTS.default,
                  defaultRequest: DEFAULTS.defaultRequest,
                  max: { memory: '256Mi' },
                },
              ],
            },
          },
        })
        await requireLimitsQuota(cluster, namespace)
      })

      it('admits a base that sets no resources: the LimitRange fills them, the sidecar keeps its own', async () => {
        const p = pipeline('e2e-limitrange').pod(
          'defaulted',
          { output: z.object({ ok: z.boolean() }), onFinish: 'keep_pod' },
          { image: SHELL, command: writes('{"ok":true}') },
        )
        const run = await runOnCluster(clusterOf(probe), p, { dataDir, namespace })
        expect(run.error).toBeUndefined()
        expect(run.outputs?.defaulted).toEqual({ ok: true })
        const pod = await podOf(namespace, 'e2e-limitrange')
        const base = pod.spec?.containers.find((c) => c.name === 'base')
        const sidecar = pod.spec?.initContainers?.find((c) => c.name === 'podline-xcom')
        expect(base?.resources).toEqual({ limits: DEFAULTS.default, requests: DEFAULTS.defaultRequest })
        expect(sidecar?.resources).toEqual(DEFAULT_SIDECAR_RESOURCES)
      }, 180_000)
    },
  )
})
