import { redactPresignedUrls } from '../xcom-store/transfer-target.js'
import { apiStatus, callApi } from './api-call.js'
import type { KubeClient } from './kube-client.js'
import { allStatuses } from './pod-conditions.js'

/** A task's pod as the cluster sees it now, for the UI: its phase, its containers and its events. */
export interface PodStatus {
  name: string
  namespace: string
  /** false: the pod is gone (deleted after its task, or by someone). */
  exists: boolean
  phase?: string
  reason?: string
  message?: string
  containers: Array<{ name: string; state: string; reason?: string; exitCode?: number; restarts: number }>
  events: Array<{ type?: string; reason?: string; message?: string; at?: string; count?: number }>
}

/** Reads the pod and its events (best effort: a user without `events list` still gets the pod). */
export async function podStatus(
  kube: KubeClient,
  ref: { namespace: string; name: string },
): Promise<PodStatus> {
  const base = { name: ref.name, namespace: ref.namespace, containers: [], events: [] }
  let pod: Awaited<ReturnType<KubeClient['core']['readNamespacedPod']>>
  try {
    pod = await callApi(`read pod ${ref.namespace}/${ref.name}`, () => kube.core.readNamespacedPod(ref))
  } catch (error) {
    if (apiStatus(error) === 404) return { ...base, exists: false }
    throw error
  }
  const events = await callApi(`list the events of pod ${ref.namespace}/${ref.name}`, () =>
    kube.core.listNamespacedEvent({
      namespace: ref.namespace,
      fieldSelector: `involvedObject.name=${ref.name}`,
    }),
  ).catch(() => undefined)
  const at = (e: { lastTimestamp?: Date; eventTime?: Date; firstTimestamp?: Date }) =>
    (e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp)?.toISOString()
  return {
    ...base,
    exists: true,
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    ...(pod.status?.reason ? { reason: pod.status.reason } : {}),
    ...(pod.status?.message ? { message: redactPresignedUrls(pod.status.message) } : {}),
    containers: allStatuses(pod).map((s) => {
      const state = s.state?.running ? 'running' : s.state?.terminated ? 'terminated' : 'waiting'
      const reason = s.state?.terminated?.reason ?? s.state?.waiting?.reason
      const exitCode = s.state?.terminated?.exitCode
      return {
        name: s.name,
        state,
        ...(reason ? { reason } : {}),
        ...(exitCode === undefined ? {} : { exitCode }),
        restarts: s.restartCount,
      }
    }),
    events: (events?.items ?? []).map((e) => {
      const when = at(e)
      return {
        ...(e.type ? { type: e.type } : {}),
        ...(e.reason ? { reason: e.reason } : {}),
        // An event may quote the pod's spec, whose sidecar env may hold a presigned upload URL.
        ...(e.message ? { message: redactPresignedUrls(e.message) } : {}),
        ...(when ? { at: when } : {}),
        ...(e.count === undefined ? {} : { count: e.count }),
      }
    }),
  }
}
