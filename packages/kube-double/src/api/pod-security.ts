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

/** The capabilities the baseline profile lets a container add (the container runtime's defaults). */
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
])

const quote = (names: Iterable<string>) => [...names].map((n) => `"${n}"`).join(', ')
const plural = (one: string, many: string, n: number) => (n === 1 ? one : many)
const containersNamed = (names: string[]) =>
  `${plural('container', 'containers', names.length)} ${quote(names)}`

/**
 * The checks in the API server's order and wording (k8s.io/pod-security-admission): the baseline
 * checks by id, then the restricted ones, a restricted check standing in for the baseline check it
 * overrides (capabilities, hostPath volumes). Checked against a 1.34 API server by the cluster
 * suite's admission scenario and the messages quoted in pod-security.test.ts.
 */
export function podSecurityViolations(pod: PodJson, level: Level): string[] {
  const spec = pod.spec
  const podContext = (spec.securityContext ?? {}) as SecurityContextJson
  const containers: ContainerJson[] = [...(spec.initContainers ?? []), ...spec.containers]
  const ctx = (c: ContainerJson): SecurityContextJson => c.securityContext ?? {}
  const named = (test: (c: ContainerJson) => boolean) => containers.filter(test).map((c) => c.name)
  const restricted = level === 'restricted'
  const out: string[] = []

  // Baseline, by check id: capabilities_baseline, hostNamespaces, hostPathVolumes, privileged.
  if (!restricted) {
    const adding = named((c) =>
      (ctx(c).capabilities?.add ?? []).some((cap) => !BASELINE_CAPABILITIES.has(cap)),
    )
    if (adding.length > 0) {
      const caps = new Set(containers.flatMap((c) => ctx(c).capabilities?.add ?? []))
      const extra = [...caps].filter((cap) => !BASELINE_CAPABILITIES.has(cap)).sort()
      out.push(
        `non-default capabilities (${containersNamed(adding)} must not include ${quote(extra)} in securityContext.capabilities.add)`,
      )
    }
  }
  const hostNamespaces = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec[f] === true)
  if (hostNamespaces.length > 0)
    out.push(`host namespaces (${hostNamespaces.map((f) => `${f}=true`).join(', ')})`)
  if (!restricted) {
    const hostPath = (spec.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => v.name)
    if (hostPath.length > 0)
      out.push(`hostPath volumes (${plural('volume', 'volumes', hostPath.length)} ${quote(hostPath)})`)
  }
  const privileged = named((c) => ctx(c).privileged === true)
  if (privileged.length > 0)
    out.push(`privileged (${containersNamed(privileged)} must not set securityContext.privileged=true)`)
  if (!restricted) return out

  // Restricted: allowPrivilegeEscalation, capabilities_restricted, restrictedVolumes, runAsNonRoot,
  // runAsUser, seccompProfile_restricted.
  const escalating = named((c) => ctx(c).allowPrivilegeEscalation !== false)
  if (escalating.length > 0)
    out.push(
      `allowPrivilegeEscalation != false (${containersNamed(escalating)} must set securityContext.allowPrivilegeEscalation=false)`,
    )

  const notDropping = named((c) => !(ctx(c).capabilities?.drop ?? []).includes('ALL'))
  const isForbidden = (cap: string) => cap !== 'NET_BIND_SERVICE'
  const adding = named((c) => (ctx(c).capabilities?.add ?? []).some(isForbidden))
  const capabilities: string[] = []
  if (notDropping.length > 0)
    capabilities.push(`${containersNamed(notDropping)} must set securityContext.capabilities.drop=["ALL"]`)
  if (adding.length > 0) {
    const forbidden = [...new Set(containers.flatMap((c) => ctx(c).capabilities?.add ?? []))].filter(
      isForbidden,
    )
    capabilities.push(
      `${containersNamed(adding)} must not include ${quote(forbidden.sort())} in securityContext.capabilities.add`,
    )
  }
  if (capabilities.length > 0) out.push(`unrestricted capabilities (${capabilities.join('; ')})`)

  const badVolumes: string[] = []
  const badTypes = new Set<string>()
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name')
    if (type && !RESTRICTED_VOLUMES.has(type)) {
      badVolumes.push(volume.name)
      badTypes.add(type)
    }
  }
  if (badVolumes.length > 0)
    out.push(
      `restricted volume types (${plural('volume', 'volumes', badVolumes.length)} ${quote(badVolumes)} ${plural('uses', 'use', badVolumes.length)} ${plural('restricted volume type', 'restricted volume types', badTypes.size)} ${quote([...badTypes].sort())})`,
    )

  // Whoever sets a bad value is named ("pod and container …"); else those that set nothing.
  const setters = (podBad: boolean, containersBad: string[]) => [
    ...(podBad ? ['pod'] : []),
    ...(containersBad.length > 0 ? [containersNamed(containersBad)] : []),
  ]
  const nonRootFalse = setters(
    podContext.runAsNonRoot === false,
    named((c) => ctx(c).runAsNonRoot === false),
  )
  const nonRootUnset = named((c) => ctx(c).runAsNonRoot === undefined && podContext.runAsNonRoot !== true)
  if (nonRootFalse.length > 0)
    out.push(
      `runAsNonRoot != true (${nonRootFalse.join(' and ')} must not set securityContext.runAsNonRoot=false)`,
    )
  else if (nonRootUnset.length > 0)
    out.push(
      `runAsNonRoot != true (pod or ${containersNamed(nonRootUnset)} must set securityContext.runAsNonRoot=true)`,
    )

  const rootUser = setters(
    podContext.runAsUser === 0,
    named((c) => ctx(c).runAsUser === 0),
  )
  if (rootUser.length > 0) out.push(`runAsUser=0 (${rootUser.join(' and ')} must not set runAsUser=0)`)

  const allowed = (type: string | undefined) => type === 'RuntimeDefault' || type === 'Localhost'
  const podSeccomp = podContext.seccompProfile?.type
  const badSeccomp = named(
    (c) => ctx(c).seccompProfile?.type !== undefined && !allowed(ctx(c).seccompProfile?.type),
  )
  const seccompSetters = setters(podSeccomp !== undefined && !allowed(podSeccomp), badSeccomp)
  const seccompUnset = named((c) => ctx(c).seccompProfile?.type === undefined && podSeccomp === undefined)
  if (seccompSetters.length > 0) {
    const values = new Set(
      [podSeccomp, ...containers.map((c) => ctx(c).seccompProfile?.type)].filter(
        (t): t is string => t !== undefined && !allowed(t),
      ),
    )
    out.push(
      `seccompProfile (${seccompSetters.join(' and ')} must not set securityContext.seccompProfile.type to ${quote([...values].sort())})`,
    )
  } else if (seccompUnset.length > 0)
    out.push(
      `seccompProfile (pod or ${containersNamed(seccompUnset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
    )
  return out
}
