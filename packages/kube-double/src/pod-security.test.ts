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
      'runAsUser=0 (container "main" must not set runAsUser=0)',
    ])
    expect(podSecurityViolations(pod(spec), 'baseline')).toEqual(['hostPath volumes (volume "host")'])
  })

  // What a 1.34 API server answered for these pods (server-side dry run on the cluster suite's cluster).
  describe('the API server’s messages, check by check and in its order', () => {
    const base = (securityContext?: Record<string, unknown>) => ({
      name: 'main',
      image: 'alpine:3.20',
      ...(securityContext ? { securityContext } : {}),
    })
    const other = { name: 'other', image: 'alpine:3.20' }

    it('baseline: non-default capabilities, host namespaces, hostPath volumes', () => {
      const spec = {
        hostNetwork: true,
        hostPID: true,
        volumes: [
          { name: 'h1', hostPath: { path: '/var' } },
          { name: 'h2', hostPath: { path: '/tmp' } },
        ],
        containers: [base({ capabilities: { add: ['NET_ADMIN'] } })],
      }
      expect(podSecurityViolations(pod(spec), 'baseline').join(', ')).toBe(
        'non-default capabilities (container "main" must not include "NET_ADMIN" in securityContext.capabilities.add), host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volumes "h1", "h2")',
      )
    })

    it('restricted: several containers, a capability added, volumes of two restricted types', () => {
      const spec = {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        volumes: [
          { name: 'scratch', emptyDir: {} },
          { name: 'host', hostPath: { path: '/var' } },
        ],
        containers: [
          base({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsUser: 0 }),
          {
            name: 'second',
            image: 'alpine:3.20',
            securityContext: { capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } },
          },
          { name: 'third', image: 'alpine:3.20' },
        ],
      }
      expect(podSecurityViolations(pod(spec), 'restricted').join(', ')).toBe(
        'allowPrivilegeEscalation != false (containers "second", "third" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "third" must set securityContext.capabilities.drop=["ALL"]; container "second" must not include "NET_ADMIN" in securityContext.capabilities.add), restricted volume types (volume "host" uses restricted volume type "hostPath"), runAsUser=0 (container "main" must not set runAsUser=0)',
      )
      const two = {
        hostNetwork: true,
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, runAsUser: 0 },
        volumes: [
          { name: 'h1', hostPath: { path: '/var' } },
          { name: 'n1', nfs: { server: 'x', path: '/' } },
          { name: 'e', emptyDir: {} },
        ],
        containers: [
          base({
            allowPrivilegeEscalation: false,
            runAsUser: 0,
            capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_TIME', 'NET_BIND_SERVICE'] },
          }),
        ],
      }
      expect(podSecurityViolations(pod(two), 'restricted').join(', ')).toBe(
        'host namespaces (hostNetwork=true), unrestricted capabilities (container "main" must not include "NET_ADMIN", "SYS_TIME" in securityContext.capabilities.add), restricted volume types (volumes "h1", "n1" use restricted volume types "hostPath", "nfs"), runAsUser=0 (pod and container "main" must not set runAsUser=0)',
      )
    })

    it('restricted: values set explicitly are named before values left unset', () => {
      const explicit = {
        securityContext: { runAsUser: 0 },
        containers: [base({ runAsNonRoot: false, seccompProfile: { type: 'Unconfined' } }), other],
      }
      expect(podSecurityViolations(pod(explicit), 'restricted').join(', ')).toBe(
        'allowPrivilegeEscalation != false (containers "main", "other" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (containers "main", "other" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (container "main" must not set securityContext.runAsNonRoot=false), runAsUser=0 (pod must not set runAsUser=0), seccompProfile (container "main" must not set securityContext.seccompProfile.type to "Unconfined")',
      )
      const inherited = {
        hostIPC: true,
        securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          base({
            seccompProfile: { type: 'Unconfined' },
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            runAsNonRoot: true,
          }),
          other,
        ],
      }
      expect(podSecurityViolations(pod(inherited), 'restricted').join(', ')).toBe(
        'host namespaces (hostIPC=true), allowPrivilegeEscalation != false (container "other" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "other" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "other" must set securityContext.runAsNonRoot=true), seccompProfile (container "main" must not set securityContext.seccompProfile.type to "Unconfined")',
      )
    })
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
