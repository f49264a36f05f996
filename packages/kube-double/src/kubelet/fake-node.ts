import type { NodeSelectorRequirement, PodJson } from '../wire-types.js'

/** The double's one node. `ready: false` after `faults.loseNode()`. */
export interface FakeNode {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly ip: string
  ready: boolean
}

/**
 * The scheduler's verdict for a pod on the single node: undefined when it fits, or the
 * FailedScheduling message the default scheduler writes (same wording and counts).
 */
export function unschedulableReason(pod: PodJson, node: FakeNode): string | undefined {
  const suffix = 'preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.'
  if (!node.ready) {
    return `0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. ${suffix}`
  }
  const selectorMatches = Object.entries(pod.spec.nodeSelector ?? {}).every(([k, v]) => node.labels[k] === v)
  const terms =
    pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
  // Terms are ORed, the expressions within one are ANDed.
  const affinityMatches =
    !terms ||
    terms.some((term) => (term.matchExpressions ?? []).every((r) => requirementMatches(r, node.labels)))
  if (selectorMatches && affinityMatches) return undefined
  return `0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. ${suffix}`
}

function requirementMatches(
  requirement: NodeSelectorRequirement,
  labels: Readonly<Record<string, string>>,
): boolean {
  const value = labels[requirement.key]
  const values = requirement.values ?? []
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value)
    case 'NotIn':
      return value === undefined || !values.includes(value)
    case 'Exists':
      return value !== undefined
    case 'DoesNotExist':
      return value === undefined
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0])
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0])
  }
}
