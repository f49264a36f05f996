import type { V1ContainerStateTerminated, V1ContainerStatus, V1Pod } from '@kubernetes/client-node'
import { TaskFailure } from '../engine/task-failure.js'
import { redactPresignedUrls } from '../xcom-store/transfer-target.js'
import { BASE_CONTAINER, SIDECAR_CONTAINER } from './xcom-sidecar.js'

/**
 * Waiting reasons that will not resolve by waiting: the image or the container's configuration is
 * wrong, so the task fails at once instead of sitting in Pending until the schedule timeout.
 */
const HOPELESS_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
])

/** Pod-level reasons that mean the node or the cluster took the pod away: another attempt may work. */
const INFRA_REASONS = new Set([
  'Evicted',
  'NodeLost',
  'NodeShutdown',
  'Shutdown',
  'Terminated',
  'UnexpectedAdmissionError',
  'Preempting',
])

export function allStatuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
}

export function containerStatus(pod: V1Pod, name: string): V1ContainerStatus | undefined {
  return allStatuses(pod).find((s) => s.name === name)
}

export function terminatedState(pod: V1Pod, name: string): V1ContainerStateTerminated | undefined {
  return containerStatus(pod, name)?.state?.terminated
}

/** True once any container has run: the pod is scheduled and its images are pulled. */
export function hasStarted(pod: V1Pod): boolean {
  return allStatuses(pod).some((s) => s.state?.running !== undefined || s.state?.terminated !== undefined)
}

/** True once `base` runs or ran: its log exists. */
export function baseStarted(pod: V1Pod): boolean {
  const state = containerStatus(pod, BASE_CONTAINER)?.state
  return state?.running !== undefined || state?.terminated !== undefined
}

/**
 * What makes the attempt fail whatever `base` does next, or `undefined`. Checked on every state the
 * watch delivers. The launcher deletes its pod only after its last wait, so any deletion seen here
 * came from elsewhere (a person, the node lifecycle, an eviction).
 */
export function podProblem(pod: V1Pod, deleted: boolean): TaskFailure | undefined {
  const failure = findPodProblem(pod, deleted)
  // The pod's messages are the cluster's text, which may quote the pod (its sidecar's upload URL).
  return failure && new TaskFailure(redactPresignedUrls(failure.message), failure.failureClass)
}

function findPodProblem(pod: V1Pod, deleted: boolean): TaskFailure | undefined {
  const where = `pod ${pod.metadata?.namespace}/${pod.metadata?.name}`
  if (deleted || pod.metadata?.deletionTimestamp) {
    const disruption = pod.status?.conditions?.find(
      (c) => c.type === 'DisruptionTarget' && c.status === 'True',
    )
    const why = disruption ? ` (${disruption.reason}: ${disruption.message ?? ''})` : ''
    return new TaskFailure(
      `${where} was deleted while the task ran${why}; the attempt will be retried if retries remain`,
      'infra',
    )
  }
  for (const status of allStatuses(pod)) {
    const waiting = status.state?.waiting
    if (waiting?.reason && HOPELESS_WAITING.has(waiting.reason)) {
      return new TaskFailure(
        `container ${status.name} of ${where} cannot start: ${waiting.reason}: ${waiting.message ?? 'no message'}` +
          (waiting.reason === 'CreateContainerConfigError'
            ? ' (check that the Secrets and ConfigMaps it references exist)'
            : ` (check the image name "${status.image}" and the imagePullSecrets)`),
        'fatal',
      )
    }
  }
  const reason = pod.status?.reason
  if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Unknown' || reason) {
    if (reason === 'DeadlineExceeded') {
      return new TaskFailure(
        `${where} ran past its activeDeadlineSeconds: ${pod.status?.message ?? ''}`.trim(),
        'task',
      )
    }
    if ((reason && INFRA_REASONS.has(reason)) || pod.status?.phase === 'Unknown') {
      return new TaskFailure(
        `${where} was lost: ${reason ?? 'phase Unknown (node unreachable)'}: ${pod.status?.message ?? 'no message'}; the attempt will be retried if retries remain`,
        'infra',
      )
    }
  }
  // A user init container that failed: with restartPolicy Never the pod fails before base starts.
  for (const status of pod.status?.initContainerStatuses ?? []) {
    if (status.name === SIDECAR_CONTAINER) continue
    const t = status.state?.terminated
    if (t && t.exitCode !== 0 && pod.status?.phase === 'Failed') {
      return new TaskFailure(
        `init container ${status.name} of ${where} ${t.reason === 'OOMKilled' ? 'was OOMKilled' : `exited with code ${t.exitCode}`}${t.message ? `: ${t.message}` : ''}`,
        'task',
      )
    }
  }
  return undefined
}
