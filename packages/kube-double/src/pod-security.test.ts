import { describe, expect, it } from 'vitest'
import { apiError, clientFor } from './__tests__/double-client.js'
import { podSecurityViolations } from './api/pod-security.js'
import { startKubeDouble } from './kube-double.js'
import type { PodJson } from './wire-types.js'

const pod = (spec: Partial<PodJson['spec']>): PodJson => ({
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'main', image: 'alpine:3.20' }], ...spec },
  status: { phase: 'Pending' },
})

const compliant = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
}

describe('Pod Security admission', () => {
  it('lists every restricted check a container fails, in the API server wording', () => {
    expect(podSecurityViolations(pod({}), 'restricted')).toEqual([
      'allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false)',
      'unrestricted capabilities (container "main" must set securityContext.capabilities.drop=["ALL"])',
      'runAsNonRoot != true (pod or container "main" must set securityContext.runAsNonRoot=true)',
      'seccompProfile (pod or container "main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    ])
  })

  it('takes runAsNonRoot and seccompProfile from the pod, and judges volumes and root users', () => {
    const spec = {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'main',
          image: 'alpine:3.20',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsUser: 0 },
        },
      ],
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'host', hostPath: { path: '/var' } },
      ],
    }
    expect(podSecurityViolations(pod(spec), 'restricted')).toEqual([
      'restricted volume types (volume "host" uses restricted volume type "hostPath")',
      'runAsUser=0 (pod or container "main" must not set runAsUser=0)',
    ])
    expect(podSecurityViolations(pod(spec), 'baseline')).toEqual(['hostPath volumes (volumes "host")'])
  })

  it('refuses a create in a namespace labelled enforce=restricted with a 403, and admits a compliant pod', async () => {
    const double = await startKubeDouble({ containers: { simulate: () => ({ runMs: 0 }) } })
    try {
      double.labelNamespace('secure', { 'pod-security.kubernetes.io/enforce': 'restricted' })
      const { api } = clientFor(double)
      const refused = await apiError(api.createNamespacedPod({ namespace: 'secure', body: pod({}) as never }))
      expect(refused.code).toBe(403)
      expect(String(refused.body.message)).toMatch(
        /^pods "p" is forbidden: violates PodSecurity "restricted:latest": /,
      )
      const ok = pod({ containers: [{ name: 'main', image: 'alpine:3.20', securityContext: compliant }] })
      await api.createNamespacedPod({ namespace: 'secure', body: ok as never })
      await api.createNamespacedPod({ namespace: 'default', body: pod({}) as never })
      expect(double.pods().map((p) => p.metadata.namespace)).toEqual(['secure', 'default'])
    } finally {
      await double.close()
    }
  })
})
