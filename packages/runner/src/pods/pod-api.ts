import { type CoreV1Event, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node'
import { TaskFailure } from '../engine/task-failure.js'
import { formatDuration } from '../format/format-duration.js'
import { type ApiRetryPolicy, apiStatus, callApi } from './api-call.js'
import type { KubeClient } from './kube-client.js'
import { allStatuses } from './pod-conditions.js'
import { labelsMatch, type PodIdentity } from './pod-identity.js'

interface CallOptions {
  signal?: AbortSignal | undefined
  retry?: ApiRetryPolicy | undefined
}

/**
 * Creates the pod, or finds the one a previous process of this worker created for the same attempt
 * (409 AlreadyExists): the name is deterministic, so this is how a restarted worker reattaches. A
 * create that timed out but succeeded also lands here on its retry. `attached` tells which happened.
 */
export async function createOrAttachPod(
  kube: KubeClient,
  pod: V1Pod,
  identity: PodIdentity,
  options: CallOptions & { lookFirst?: boolean },
): Promise<{ pod: V1Pod; attached: boolean }> {
  const namespace = pod.metadata?.namespace ?? kube.namespace
  const name = pod.metadata?.name ?? ''
  if (options.lookFirst) {
    // A takeover: the pod most likely exists, so read it first and create nothing twice.
    try {
      const found = await callApi(
        `read pod ${namespace}/${name}`,
        () => kube.core.readNamespacedPod({ name, namespace }),
        options,
      )
      return { pod: checkOwnership(found, namespace, name, identity), attached: true }
    } catch (error) {
      if (apiStatus(error) !== 404) throw error
    }
  }
  try {
    const created = await callApi(
      `create pod ${namespace}/${name}`,
      () => kube.core.createNamespacedPod({ namespace, body: pod }),
      options,
    )
    return { pod: created, attached: false }
  } catch (error) {
    if (apiStatus(error) !== 409) throw error
  }
  const existing = await callApi(
    `read pod ${namespace}/${name}`,
    () => kube.core.readNamespacedPod({ name, namespace }),
    options,
  )
  return { pod: checkOwnership(existing, namespace, name, identity), attached: true }
}

function checkOwnership(existing: V1Pod, namespace: string, name: string, identity: PodIdentity): V1Pod {
  if (!labelsMatch(existing.metadata?.labels, identity)) {
    throw new TaskFailure(
      `pod ${namespace}/${name} already exists but does not belong to run ${identity.runId}, task ${identity.task}, attempt ${identity.attempt} ` +
        `(its labels: ${JSON.stringify(existing.metadata?.labels ?? {})}); delete it, it is not Podline's`,
      'fatal',
    )
  }
  return existing
}

/** Merges labels into a pod's metadata (a JSON merge patch: the one change a running pod allows). */
export async function labelPod(
  kube: KubeClient,
  ref: { namespace: string; name: string },
  labels: Record<string, string>,
  options: CallOptions = {},
): Promise<void> {
  await callApi(
    `label pod ${ref.namespace}/${ref.name}`,
    () =>
      kube.core.patchNamespacedPod(
        { name: ref.name, namespace: ref.namespace, body: { metadata: { labels } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    options,
  )
}

/** Deletes a pod; one that is already gone is fine. */
export async function deletePod(
  kube: KubeClient,
  ref: { namespace: string; name: string },
  options: CallOptions & { gracePeriodSeconds?: number } = {},
): Promise<void> {
  try {
    await callApi(
      `delete pod ${ref.namespace}/${ref.name}`,
      () =>
        kube.core.deleteNamespacedPod({
          name: ref.name,
          namespace: ref.namespace,
          ...(options.gracePeriodSeconds === undefined
            ? {}
            : { gracePeriodSeconds: options.gracePeriodSeconds }),
        }),
      options,
    )
  } catch (error) {
    if (apiStatus(error) !== 404) throw error
  }
}

/**
 * The failure of a pod still Pending at the schedule timeout, with the scheduler's own words (the
 * last FailedScheduling event) or what the containers wait for. Events are best effort: a worker
 * without `events list` permission still gets a message.
 */
export async function pendingTimeoutFailure(
  kube: KubeClient,
  pod: V1Pod,
  timeoutMs: number,
): Promise<TaskFailure> {
  const namespace = pod.metadata?.namespace ?? kube.namespace
  const name = pod.metadata?.name ?? ''
  let scheduling: string | undefined
  try {
    const events = await callApi(`list the events of pod ${namespace}/${name}`, () =>
      kube.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` }),
    )
    scheduling = lastEvent(events.items.filter((e) => e.reason === 'FailedScheduling'))?.message
  } catch {
    scheduling = undefined
  }
  const waiting = allStatuses(pod)
    .filter((s) => s.state?.waiting?.reason)
    .map(
      (s) =>
        `${s.name}: ${s.state?.waiting?.reason}${s.state?.waiting?.message ? ` (${s.state.waiting.message})` : ''}`,
    )
  const why = scheduling
    ? `FailedScheduling: ${scheduling}`
    : waiting.length > 0
      ? `containers waiting: ${waiting.join('; ')}`
      : 'the pod was not scheduled'
  return new TaskFailure(
    `pod ${namespace}/${name} was still Pending after ${formatDuration(timeoutMs)} (scheduleTimeout): ${why}. ` +
      'Check its nodeSelector, affinity, tolerations and resource requests against the nodes, or raise scheduleTimeout',
    'fatal',
  )
}

function lastEvent(events: CoreV1Event[]): CoreV1Event | undefined {
  const time = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime()
  return [...events].sort((a, b) => time(a) - time(b)).at(-1)
}
