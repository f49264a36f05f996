import { now } from '../api/resource-store.js'
import type {
  ContainerJson,
  ContainerStatusJson,
  PodCondition,
  PodJson,
  PodStatusJson,
} from '../wire-types.js'

/** A native sidecar: an init container that keeps running (KEP-753). */
export function isSidecar(container: ContainerJson): boolean {
  return container.restartPolicy === 'Always'
}

/** The QoS class the API server assigns on create. */
export function qosClassOf(pod: PodJson): string {
  const containers = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]
  const stated = containers.some(
    (c) =>
      Object.keys(c.resources?.limits ?? {}).length > 0 ||
      Object.keys(c.resources?.requests ?? {}).length > 0,
  )
  if (!stated) return 'BestEffort'
  const guaranteed = containers.every((c) =>
    ['cpu', 'memory'].every((r) => {
      const limit = c.resources?.limits?.[r]
      const request = c.resources?.requests?.[r] ?? limit
      return limit !== undefined && String(limit) === String(request)
    }),
  )
  return guaranteed ? 'Guaranteed' : 'Burstable'
}

export function findContainerStatus(pod: PodJson, name: string): ContainerStatusJson | undefined {
  return [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])].find(
    (s) => s.name === name,
  )
}

/** Sets a condition, keeping its lastTransitionTime when the status does not change (as the kubelet does). */
export function setCondition(
  pod: PodJson,
  type: string,
  status: PodCondition['status'],
  reason?: string,
  message?: string,
): void {
  pod.status.conditions ??= []
  const conditions = pod.status.conditions
  const existing = conditions.find((c) => c.type === type)
  const next: PodCondition = {
    type,
    status,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    lastProbeTime: null,
    lastTransitionTime: existing && existing.status === status ? existing.lastTransitionTime : now(),
  }
  if (existing) conditions.splice(conditions.indexOf(existing), 1, next)
  else conditions.push(next)
  conditions.sort((a, b) => CONDITION_ORDER.indexOf(a.type) - CONDITION_ORDER.indexOf(b.type))
}

const CONDITION_ORDER = [
  'DisruptionTarget',
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
]

/**
 * The pod's phase from its container statuses, following the kubelet's getPhase for restartPolicy
 * Never: any container still waiting keeps the pod Pending; a terminal phase waits until every
 * container (sidecars included) has stopped.
 */
export function computePhase(pod: PodJson): PodStatusJson['phase'] {
  const initSpecs = pod.spec.initContainers ?? []
  const inits = pod.status.initContainerStatuses ?? []
  const regular = pod.status.containerStatuses ?? []
  const anyRunning = [...inits, ...regular].some((s) => s.state.running)
  const previous = pod.status.phase
  const terminal = (phase: 'Succeeded' | 'Failed'): PodStatusJson['phase'] => (anyRunning ? previous : phase)

  const initFailed = inits.some(
    (s, i) => !isSidecar(initSpecs[i] ?? { name: '' }) && (s.state.terminated?.exitCode ?? 0) !== 0,
  )
  if (initFailed) return terminal('Failed')
  if (!isInitialized(pod)) return 'Pending'
  if (regular.some((s) => s.state.waiting)) return 'Pending'
  if (regular.some((s) => s.state.running)) return 'Running'
  return terminal(regular.every((s) => s.state.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed')
}

export function isInitialized(pod: PodJson): boolean {
  const specs = pod.spec.initContainers ?? []
  const statuses = pod.status.initContainerStatuses ?? []
  return specs.every((spec, i) => {
    const state = statuses[i]?.state
    return isSidecar(spec) ? Boolean(state?.running || state?.terminated) : state?.terminated?.exitCode === 0
  })
}

/** Recomputes the phase and the Initialized / Ready / ContainersReady conditions from the statuses. */
export function refreshPodStatus(pod: PodJson): void {
  if (!pod.status.reason) pod.status.phase = computePhase(pod)
  const completed = pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed'
  const initSpecs = pod.spec.initContainers ?? []
  if (initSpecs.length > 0 || completed) {
    const incomplete = initSpecs
      .filter((spec, i) => {
        const state = pod.status.initContainerStatuses?.[i]?.state
        return isSidecar(spec) ? !state?.running && !state?.terminated : state?.terminated?.exitCode !== 0
      })
      .map((s) => s.name)
    // The kubelet's PodCompleted is for a pod that succeeded, init containers or not.
    if (incomplete.length === 0)
      setCondition(pod, 'Initialized', 'True', pod.status.phase === 'Succeeded' ? 'PodCompleted' : undefined)
    else
      setCondition(
        pod,
        'Initialized',
        'False',
        'ContainersNotInitialized',
        `containers with incomplete status: [${incomplete.join(' ')}]`,
      )
  } else {
    setCondition(pod, 'Initialized', 'True')
  }
  const unready = [
    ...(pod.status.initContainerStatuses ?? []).filter(
      (s, i) => isSidecar(initSpecs[i] ?? { name: '' }) && !s.ready,
    ),
    ...(pod.status.containerStatuses ?? []).filter((s) => !s.ready),
  ].map((s) => s.name)
  const unreadyRegular = (pod.status.containerStatuses ?? []).filter((s) => !s.ready).map((s) => s.name)
  if (completed) {
    const why = pod.status.phase === 'Failed' ? 'PodFailed' : 'PodCompleted'
    setCondition(pod, 'Ready', 'False', why)
    setCondition(pod, 'ContainersReady', 'False', why)
    if (
      ![...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])].some(
        (s) => s.state.running,
      )
    ) {
      setCondition(pod, 'PodReadyToStartContainers', 'False')
    }
    return
  }
  if (unready.length === 0) setCondition(pod, 'Ready', 'True')
  else
    setCondition(
      pod,
      'Ready',
      'False',
      'ContainersNotReady',
      `containers with unready status: [${unready.join(' ')}]`,
    )
  if (unreadyRegular.length === 0) setCondition(pod, 'ContainersReady', 'True')
  else {
    setCondition(
      pod,
      'ContainersReady',
      'False',
      'ContainersNotReady',
      `containers with unready status: [${unreadyRegular.join(' ')}]`,
    )
  }
}
