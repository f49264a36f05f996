import type { V1Pod } from '@kubernetes/client-node'
import { apiStatus, callApi } from './api-call.js'
import type { KubeClient } from './kube-client.js'
import { deletePod } from './pod-api.js'
import {
  ANNOTATION_RUN_ID,
  LABEL_ATTEMPT,
  LABEL_KEPT,
  LABEL_MAP_INDEX,
  LABEL_ON_FINISH,
  LABEL_PIPELINE,
  LABEL_RUN,
  LABEL_TASK,
  runSelector,
  storeSelector,
} from './pod-identity.js'
import type { PodInformers } from './pod-informer.js'

/** The task run a Podline pod belongs to, read back from its labels (and the full run id annotation). */
export interface PodTaskRef {
  readonly pipeline: string
  readonly runId: string
  readonly task: string
  readonly attempt: number
  /** The item of a mapped task the pod ran; absent for other tasks. */
  readonly mapIndex?: number
}

export interface PodSweepOptions {
  /** The store whose pods these are: pods of any other store are never touched. */
  readonly store: string
  /** Namespaces to look in (the executor adds its own and every one it launched into). */
  readonly namespaces: Iterable<string>
}

/** Run ids are uuids in the store; anything else in a label was not written by this store's runs. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Deletes this store's pods whose task run no longer runs (the worker died after creating them, or
 * the delete at the end of the task failed). Returns how many were deleted. Left alone: pods of other
 * stores, pods already terminating, pods the user asked to keep (`keep_pod`; a `delete_succeeded_pod`
 * pod that did not succeed), and pods whose labels cannot be read back (not Podline's to judge).
 * @example
 * await collectOrphanPods(kube, { store, namespaces: ['etl'] }, (ref) => store.isRunning(ref))
 */
export async function collectOrphanPods(
  kube: KubeClient,
  sweep: PodSweepOptions,
  isTaskRunLive: (ref: PodTaskRef) => Promise<boolean>,
  informers?: PodInformers,
): Promise<number> {
  let deleted = 0
  const pods = await listPods(kube, storeSelector(sweep.store), sweep, informers)
  const candidate = (pod: V1Pod) => {
    const ref = taskRefOf(pod)
    return ref && !pod.metadata?.deletionTimestamp && !keptByRequest(pod) ? ref : undefined
  }
  for (const pod of pods) {
    const ref = candidate(pod)
    // A pod a task of this executor still looks after is not an orphan, whatever its run's state says.
    if (!ref || informers?.isAttended(podRef(pod, kube)) || (await isTaskRunLive(ref))) continue
    // The cache may lag a label its task just set (kept): a pod about to be deleted is read afresh.
    if (informers && !candidate(await readPod(kube, podRef(pod, kube)))) continue
    await deletePod(kube, podRef(pod, kube))
    deleted++
  }
  return deleted
}

async function readPod(kube: KubeClient, ref: { namespace: string; name: string }): Promise<V1Pod> {
  try {
    return await callApi(`read pod ${ref.namespace}/${ref.name}`, () => kube.core.readNamespacedPod(ref))
  } catch (error) {
    if (apiStatus(error) === 404) return {}
    throw error
  }
}

/** Deletes every pod of a run at once (cancellation): no grace period, the run is over. */
export async function deletePodsOfRun(
  kube: KubeClient,
  runId: string,
  sweep: PodSweepOptions,
  informers?: PodInformers,
): Promise<number> {
  const pods = await listPods(kube, runSelector(sweep.store, runId), sweep, informers)
  const ours = pods.filter((p) => taskRefOf(p)?.runId === runId)
  await Promise.all(ours.map((p) => deletePod(kube, podRef(p, kube), { gracePeriodSeconds: 0 })))
  return ours.length
}

/** The task run of a pod, or undefined when its labels are not ones a Podline store wrote. */
export function taskRefOf(pod: V1Pod): PodTaskRef | undefined {
  const labels = pod.metadata?.labels ?? {}
  const runId = pod.metadata?.annotations?.[ANNOTATION_RUN_ID] ?? labels[LABEL_RUN]
  const attempt = Number(labels[LABEL_ATTEMPT])
  const { [LABEL_PIPELINE]: pipeline, [LABEL_TASK]: task } = labels
  if (!runId || !UUID.test(runId) || !pipeline || !task || !Number.isInteger(attempt)) return undefined
  const item = labels[LABEL_MAP_INDEX]
  if (item === undefined) return { pipeline, runId, task, attempt }
  const mapIndex = Number(item)
  return Number.isInteger(mapIndex) && mapIndex >= 0
    ? { pipeline, runId, task, attempt, mapIndex }
    : undefined
}

/**
 * What `onFinish` asked to keep: a `keep_pod` pod, one its task labelled kept when it ended (a failed
 * `delete_succeeded_pod` task, whose pod may have succeeded), and a `delete_succeeded_pod` pod that
 * did not succeed (its worker died before it could label it).
 */
function keptByRequest(pod: V1Pod): boolean {
  const labels = pod.metadata?.labels ?? {}
  if (labels[LABEL_KEPT] === 'true' || labels[LABEL_ON_FINISH] === 'keep_pod') return true
  return labels[LABEL_ON_FINISH] === 'delete_succeeded_pod' && pod.status?.phase !== 'Succeeded'
}

/**
 * The pods matching `labelSelector` (this store's, or a run's among them): from the informer's cache
 * where the executor watches the namespace (no request), listed elsewhere. A pod created a moment
 * ago may be missing from the cache; the next sweep sees it.
 */
async function listPods(
  kube: KubeClient,
  labelSelector: string,
  sweep: PodSweepOptions,
  informers: PodInformers | undefined,
) {
  const pods: V1Pod[] = []
  const matches = labelMatcher(labelSelector)
  for (const namespace of new Set(sweep.namespaces)) {
    const cached = informers?.cached(namespace, sweep.store)
    if (cached) {
      pods.push(...cached.filter((pod) => matches(pod.metadata?.labels)))
      continue
    }
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

/** Matches the `k=v,k=v` selectors of pod-identity.ts, the only ones read against the cache. */
function labelMatcher(selector: string): (labels: Record<string, string> | undefined) => boolean {
  const wanted = selector.split(',').map((part) => part.split('=') as [string, string])
  return (labels) => wanted.every(([key, value]) => labels?.[key] === value)
}
