import type { V1Pod } from '@kubernetes/client-node'
import { callApi } from './api-call.js'
import type { KubeClient } from './kube-client.js'
import { deletePod } from './pod-api.js'
import {
  ANNOTATION_RUN_ID,
  LABEL_ATTEMPT,
  LABEL_MANAGED_BY,
  LABEL_PIPELINE,
  LABEL_RUN,
  LABEL_TASK,
  MANAGED_BY,
  runSelector,
} from './pod-identity.js'

/** The task run a Podline pod belongs to, read back from its labels (and the full run id annotation). */
export interface PodTaskRef {
  readonly pipeline: string
  readonly runId: string
  readonly task: string
  readonly attempt: number
}

export interface PodSweepOptions {
  /** Namespaces to look in. Default: the executor's namespace. */
  readonly namespaces?: readonly string[]
}

/**
 * Deletes Podline pods whose task run no longer runs (the worker died after creating them, or the
 * delete at the end of the task failed). Returns how many were deleted. Pods already terminating are
 * left alone; a pod whose labels cannot be read back is not Podline's to judge, and is left too.
 * @example
 * await collectOrphanPods(kube, async (ref) => store.isRunning(ref.runId, ref.task, ref.attempt))
 */
export async function collectOrphanPods(
  kube: KubeClient,
  isTaskRunLive: (ref: PodTaskRef) => Promise<boolean>,
  options: PodSweepOptions = {},
): Promise<number> {
  let deleted = 0
  for (const pod of await listPodlinePods(kube, `${LABEL_MANAGED_BY}=${MANAGED_BY}`, options)) {
    const ref = taskRefOf(pod)
    if (!ref || pod.metadata?.deletionTimestamp) continue
    if (await isTaskRunLive(ref)) continue
    await deletePod(kube, podRef(pod, kube))
    deleted++
  }
  return deleted
}

/** Deletes every pod of a run at once (cancellation): no grace period, the run is over. */
export async function deletePodsOfRun(
  kube: KubeClient,
  runId: string,
  options: PodSweepOptions = {},
): Promise<number> {
  const pods = await listPodlinePods(kube, runSelector(runId), options)
  const ours = pods.filter((p) => taskRefOf(p)?.runId === runId)
  await Promise.all(ours.map((p) => deletePod(kube, podRef(p, kube), { gracePeriodSeconds: 0 })))
  return ours.length
}

export function taskRefOf(pod: V1Pod): PodTaskRef | undefined {
  const labels = pod.metadata?.labels ?? {}
  const runId = pod.metadata?.annotations?.[ANNOTATION_RUN_ID] ?? labels[LABEL_RUN]
  const attempt = Number(labels[LABEL_ATTEMPT])
  const { [LABEL_PIPELINE]: pipeline, [LABEL_TASK]: task } = labels
  if (!runId || !pipeline || !task || !Number.isInteger(attempt)) return undefined
  return { pipeline, runId, task, attempt }
}

async function listPodlinePods(
  kube: KubeClient,
  labelSelector: string,
  options: PodSweepOptions,
): Promise<V1Pod[]> {
  const pods: V1Pod[] = []
  for (const namespace of options.namespaces ?? [kube.namespace]) {
    const list = await callApi(`list Podline pods in namespace ${namespace}`, () =>
      kube.core.listNamespacedPod({ namespace, labelSelector }),
    )
    pods.push(...list.items)
  }
  return pods
}

function podRef(pod: V1Pod, kube: KubeClient): { namespace: string; name: string } {
  return { namespace: pod.metadata?.namespace ?? kube.namespace, name: pod.metadata?.name ?? '' }
}
