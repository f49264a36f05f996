import type { ContainerJson, PodJson, SecurityContextJson } from '../wire-types.js'
import { ApiError, statuses } from './api-error.js'

/** The namespace label Pod Security admission enforces (`privileged`, `baseline` or `restricted`). */
export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce'

type Level = 'baseline' | 'restricted'

// Volume types the restricted profile allows; baseline forbids hostPath only.
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
])

/**
 * Pod Security admission for a namespace's `enforce` label: a pod that violates the level is a 403
 * whose message lists each check and what to set, in the API server's wording, e.g.
 * `pods "x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false
 * (container "base" must set securityContext.allowPrivilegeEscalation=false), …`.
 * The checks of the baseline and restricted profiles that pods the double runs can violate.
 */
export function checkPodSecurity(pod: PodJson, namespaceLabels: Record<string, string> | undefined): void {
  const level = namespaceLabels?.[ENFORCE_LABEL]
  if (level !== 'baseline' && level !== 'restricted') return
  const violations = podSecurityViolations(pod, level)
  if (violations.length === 0) return
  const name = pod.metadata.name ?? ''
  throw new ApiError(
    statuses.forbidden(
      `pods "${name}" is forbidden: violates PodSecurity "${level}:latest": ${violations.join(', ')}`,
      { name, kind: 'pods' },
    ),
  )
}

export function podSecurityViolations(pod: PodJson, level: Level): string[] {
  const spec = pod.spec
  const podContext = (spec.securityContext ?? {}) as SecurityContextJson
  const containers: ContainerJson[] = [...(spec.initContainers ?? []), ...spec.containers]
  const ctx = (c: ContainerJson): SecurityContextJson => c.securityContext ?? {}
  const out: string[] = []
  const failing = (what: string, test: (c: ContainerJson) => boolean, must: string, podToo = false) => {
    const names = containers.filter(test).map((c) => `"${c.name}"`)
    if (names.length === 0) return
    const subject = `${podToo ? 'pod or ' : ''}container${names.length > 1 ? 's' : ''} ${names.join(', ')}`
    out.push(`${what} (${subject} must ${must})`)
  }

  // Baseline.
  failing('privileged', (c) => ctx(c).privileged === true, 'not set securityContext.privileged=true')
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const)
    if (spec[field] === true) out.push(`host namespaces (${field}=true)`)
  const hostPath = (spec.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => `"${v.name}"`)
  if (hostPath.length > 0 && level === 'baseline')
    out.push(`hostPath volumes (volumes ${hostPath.join(', ')})`)
  if (level === 'baseline') return out

  // Restricted.
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name')
    if (type && !RESTRICTED_VOLUMES.has(type))
      out.push(`restricted volume types (volume "${volume.name}" uses restricted volume type "${type}")`)
  }
  failing(
    'allowPrivilegeEscalation != false',
    (c) => ctx(c).allowPrivilegeEscalation !== false,
    'set securityContext.allowPrivilegeEscalation=false',
  )
  failing(
    'unrestricted capabilities',
    (c) =>
      !(ctx(c).capabilities?.drop ?? []).includes('ALL') ||
      (ctx(c).capabilities?.add ?? []).some((cap) => cap !== 'NET_BIND_SERVICE'),
    'set securityContext.capabilities.drop=["ALL"]',
  )
  failing(
    'runAsNonRoot != true',
    (c) => (ctx(c).runAsNonRoot ?? podContext.runAsNonRoot) !== true,
    'set securityContext.runAsNonRoot=true',
    true,
  )
  failing('runAsUser=0', (c) => (ctx(c).runAsUser ?? podContext.runAsUser) === 0, 'not set runAsUser=0', true)
  const seccompOk = (type: string | undefined) => type === 'RuntimeDefault' || type === 'Localhost'
  failing(
    'seccompProfile',
    (c) => !seccompOk(ctx(c).seccompProfile?.type ?? podContext.seccompProfile?.type),
    'set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
    true,
  )
  return out
}
