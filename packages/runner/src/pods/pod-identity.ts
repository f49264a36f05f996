import { createHash } from 'node:crypto'
import type { TaskExecution } from '../executors/task-execution.js'

/** Which attempt of which task a pod runs: the key of its name and of its labels. */
export interface PodIdentity {
  /** The id of the store (database) the run belongs to: pods of two stores never mix. */
  readonly store: string
  readonly pipeline: string
  readonly runId: string
  readonly task: string
  readonly attempt: number
  /** The item of a mapped task the pod runs; absent for other tasks. */
  readonly mapIndex?: number | undefined
}

/** The identity of the pod an attempt runs, from the attempt as the worker hands it over. */
export function podIdentityOf(exec: TaskExecution): PodIdentity {
  return {
    store: exec.storeId,
    pipeline: exec.pipeline,
    runId: exec.runId,
    task: exec.task,
    attempt: exec.attempt,
    mapIndex: exec.mapIndex,
  }
}

export const LABEL_STORE = 'podline.dev/store'
export const LABEL_PIPELINE = 'podline.dev/pipeline'
export const LABEL_RUN = 'podline.dev/run'
export const LABEL_TASK = 'podline.dev/task'
export const LABEL_ATTEMPT = 'podline.dev/attempt'
/** On the pods of a mapped task's items: the item's index. */
export const LABEL_MAP_INDEX = 'podline.dev/map-index'
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by'
export const MANAGED_BY = 'podline'
/** The task's `onFinish`, so the orphan sweep keeps what the user asked to keep. */
export const LABEL_ON_FINISH = 'podline.dev/on-finish'
/** Set to `true` on a pod its task ended without deleting (`keep_pod`, or a failed `delete_succeeded_pod`). */
export const LABEL_KEPT = 'podline.dev/kept'
/** Label values are capped at 63 characters, so the unabridged run id also travels as an annotation. */
export const ANNOTATION_RUN_ID = 'podline.dev/run-id'

const MAX_NAME = 63
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/**
 * The pod's name: a readable prefix (pipeline, task, attempt) and a hash of the whole identity.
 * Deterministic, so a worker that restarts re-creates the same name, gets 409 and reattaches instead
 * of launching a second pod. A DNS-1123 label (no dots), which is also a valid subdomain.
 * The store is part of the hash: a cloned database has the same run ids but its own store id.
 * An item of a mapped task has its index in the name (`-i3`) and in the hash.
 * @example podName({ store, pipeline: 'etl', runId: 'r1', task: 'load', attempt: 1 }) // 'etl-load-a1-3f2c9e1d'
 * @example podName({ store, pipeline: 'etl', runId: 'r1', task: 'load', attempt: 1, mapIndex: 3 }) // 'etl-load-i3-a1-…'
 */
export function podName(id: PodIdentity): string {
  const item = id.mapIndex === undefined ? [] : [`item ${id.mapIndex}`]
  const hash = shortHash([id.store, id.pipeline, id.runId, id.task, String(id.attempt), ...item])
  const suffix = `${id.mapIndex === undefined ? '' : `-i${id.mapIndex}`}-a${id.attempt}-${hash}`
  const prefix = dnsLabelPart(`${id.pipeline}-${id.task}`, MAX_NAME - suffix.length)
  return prefix ? `${prefix}${suffix}` : `p${suffix}`
}

/** The labels by which a pod is found again (reattach, orphan collection, cancelling a run). */
export function podLabels(id: PodIdentity): Record<string, string> {
  return {
    [LABEL_STORE]: labelValue(id.store),
    [LABEL_PIPELINE]: labelValue(id.pipeline),
    [LABEL_RUN]: labelValue(id.runId),
    [LABEL_TASK]: labelValue(id.task),
    [LABEL_ATTEMPT]: String(id.attempt),
    ...(id.mapIndex === undefined ? {} : { [LABEL_MAP_INDEX]: String(id.mapIndex) }),
    [LABEL_MANAGED_BY]: MANAGED_BY,
  }
}

/** A label selector matching every Podline pod of one store. */
export function storeSelector(store: string): string {
  return `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_STORE}=${labelValue(store)}`
}

/** A label selector matching every pod of one run of one store. */
export function runSelector(store: string, runId: string): string {
  return `${storeSelector(store)},${LABEL_RUN}=${labelValue(runId)}`
}

/** True when `labels` are those of `id`: the check before attaching to a pod found by name. */
export function labelsMatch(labels: Record<string, string> | undefined, id: PodIdentity): boolean {
  const want = podLabels(id)
  return Object.entries(want).every(([k, v]) => labels?.[k] === v)
}

/**
 * A valid label value for any string: kept as is when valid, otherwise cleaned and suffixed with a
 * hash of the original so two different ids never collapse into one value.
 */
export function labelValue(value: string): string {
  if (value.length <= MAX_NAME && LABEL_VALUE.test(value)) return value
  const hash = shortHash([value])
  const cleaned = value
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .slice(0, MAX_NAME - hash.length - 1)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')
  return cleaned ? `${cleaned}-${hash}` : hash
}

export function isValidLabelValue(value: string): boolean {
  return value.length <= MAX_NAME && LABEL_VALUE.test(value)
}

/** Lowercase letters, digits and '-', no leading or trailing '-', at most `max` characters. */
function dnsLabelPart(value: string, max: number): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '')
}

function shortHash(parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 8)
}
