import type { V1Container, V1EnvVar, V1Pod, V1PodSpec } from '@kubernetes/client-node'
import type { PodRunOptions, PodSpec } from '@podline/sdk'
import { ANNOTATION_RUN_ID, LABEL_ON_FINISH, type PodIdentity, podLabels, podName } from './pod-identity.js'
import { mergePods } from './pod-merge.js'
import { secretParts } from './pod-secrets.js'
import {
  BASE_CONTAINER,
  type SidecarSettings,
  sidecarContainer,
  XCOM_PATH_ENV,
  XCOM_VOLUME,
  xcomDir,
} from './xcom-sidecar.js'

export interface PodBuildInput {
  readonly identity: PodIdentity
  /** The task's spec, already evaluated with its inputs. */
  readonly spec: PodSpec
  readonly run: PodRunOptions
  /** Used when neither the spec nor the template names one. */
  readonly namespace: string
  /** `spec.podTemplate`, loaded (see loadPodTemplate). */
  readonly template: V1Pod | undefined
  readonly sidecar: SidecarSettings
  /** `TRACEPARENT` / `TRACESTATE` of the attempt's span, so an instrumented container joins its trace. */
  readonly traceEnv?: Readonly<Record<string, string>>
}

/**
 * Builds the pod of one attempt: `podTemplate`, then `fullPodSpec`, then the task's own fields (which
 * win), then what Podline needs and never lets a template override: the name, the identity labels,
 * `restartPolicy: Never`, the `xcom` volume, `PODLINE_XCOM_PATH` and the sidecar. No ServiceAccount
 * token is mounted unless the spec asks for one.
 * @example
 * buildPod({ identity, spec: { image: 'alpine:3.20' }, run: {}, namespace: 'default', template: undefined,
 *   sidecar: resolveSidecar({}) })
 */
export function buildPod(input: PodBuildInput): V1Pod {
  const { identity, spec, sidecar } = input
  const merged = mergePods(mergePods(input.template ?? {}, spec.fullPodSpec ?? {}), taskPod(spec))
  const podSpec: V1PodSpec = merged.spec ?? { containers: [] }
  const base = podSpec.containers.find((c) => c.name === BASE_CONTAINER)
  if (base === undefined) throw new Error('unreachable: the task pod always has a base container')
  const xcomMount = { name: XCOM_VOLUME, mountPath: xcomDir(sidecar) }
  base.volumeMounts = [...(base.volumeMounts ?? []).filter((m) => m.name !== XCOM_VOLUME), xcomMount]
  const traceEnv = Object.entries(input.traceEnv ?? {}).map(([name, value]) => ({ name, value }))
  base.env = [
    ...(base.env ?? []).filter((e) => !PODLINE_ENV.has(e.name) && !traceEnv.some((t) => t.name === e.name)),
    ...podlineEnv(identity, sidecar),
    ...traceEnv,
  ]
  podSpec.volumes = [
    ...(podSpec.volumes ?? []).filter((v) => v.name !== XCOM_VOLUME),
    { name: XCOM_VOLUME, emptyDir: {} },
  ]
  podSpec.restartPolicy = 'Never'
  // Task code is any image a pipeline names: it gets no API credentials unless the spec asks for
  // them, by setting automountServiceAccountToken (template, fullPodSpec) or by naming a
  // serviceAccountName, whose own automount setting then decides.
  if (podSpec.automountServiceAccountToken === undefined && podSpec.serviceAccountName === undefined)
    podSpec.automountServiceAccountToken = false
  const initContainers = (podSpec.initContainers ?? []).filter(
    (c) => c.name !== sidecarContainer(sidecar).name,
  )
  const containers = podSpec.containers.filter((c) => c.name !== sidecarContainer(sidecar).name)
  // Native sidecars start after the user's init containers, so those still run to completion first.
  if (sidecar.mode === 'native') initContainers.push(sidecarContainer(sidecar))
  else containers.push(sidecarContainer(sidecar))
  podSpec.containers = containers
  if (initContainers.length > 0) podSpec.initContainers = initContainers
  else delete podSpec.initContainers
  const metadata = merged.metadata ?? {}
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...metadata,
      name: podName(identity),
      namespace: spec.namespace ?? metadata.namespace ?? input.namespace,
      labels: {
        ...metadata.labels,
        ...podLabels(identity),
        [LABEL_ON_FINISH]: input.run.onFinish ?? 'delete_pod',
      },
      annotations: { ...metadata.annotations, [ANNOTATION_RUN_ID]: identity.runId },
    },
    spec: podSpec,
  }
}

const PODLINE_ENV = new Set([
  XCOM_PATH_ENV,
  'PODLINE_RUN_ID',
  'PODLINE_TASK',
  'PODLINE_ATTEMPT',
  'PODLINE_MAP_INDEX',
  'PODLINE_PIPELINE',
])

function podlineEnv(id: PodIdentity, sidecar: SidecarSettings): V1EnvVar[] {
  return [
    { name: XCOM_PATH_ENV, value: sidecar.xcomPath },
    { name: 'PODLINE_PIPELINE', value: id.pipeline },
    { name: 'PODLINE_RUN_ID', value: id.runId },
    { name: 'PODLINE_TASK', value: id.task },
    { name: 'PODLINE_ATTEMPT', value: String(id.attempt) },
    ...(id.mapIndex === undefined ? [] : [{ name: 'PODLINE_MAP_INDEX', value: String(id.mapIndex) }]),
  ]
}

/** The task's own fields as a pod, with nothing undefined so that merging never erases a template value. */
function taskPod(spec: PodSpec): V1Pod {
  const secrets = secretParts(spec.secrets)
  const env =
    spec.env === undefined
      ? []
      : Array.isArray(spec.env)
        ? spec.env
        : Object.entries(spec.env).map(([name, value]) => ({ name, value }))
  const base: V1Container = defined({
    name: BASE_CONTAINER,
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    command: spec.command,
    args: spec.args,
    env: nonEmpty([...env, ...secrets.env]),
    envFrom: nonEmpty([...(spec.envFrom ?? []), ...secrets.envFrom]),
    volumeMounts: nonEmpty([...(spec.volumeMounts ?? []), ...secrets.volumeMounts]),
    resources: spec.resources,
    workingDir: spec.workingDir,
    securityContext: spec.containerSecurityContext,
  })
  const podSpec: V1PodSpec = defined({
    containers: [base],
    initContainers: spec.initContainers,
    volumes: nonEmpty([...(spec.volumes ?? []), ...secrets.volumes]),
    imagePullSecrets: spec.imagePullSecrets?.map((s) => (typeof s === 'string' ? { name: s } : s)),
    nodeSelector: spec.nodeSelector,
    affinity: spec.affinity,
    tolerations: spec.tolerations,
    serviceAccountName: spec.serviceAccountName,
    securityContext: spec.securityContext,
    priorityClassName: spec.priorityClassName,
    activeDeadlineSeconds: spec.activeDeadlineSeconds,
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
    hostNetwork: spec.hostNetwork,
    dnsPolicy: spec.dnsPolicy,
  })
  return { metadata: defined({ labels: spec.labels, annotations: spec.annotations }), spec: podSpec }
}

function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length > 0 ? list : undefined
}

function defined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T
}
