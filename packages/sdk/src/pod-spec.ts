// Kubernetes' own model types, so every field has the API's name and type. Type-only imports:
// the SDK stays free of I/O and of client-node's runtime.
import type {
  V1Affinity,
  V1Container,
  V1EnvFromSource,
  V1EnvVar,
  V1LocalObjectReference,
  V1Pod,
  V1PodSecurityContext,
  V1PodSpec,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node'

export type {
  V1Affinity,
  V1Container,
  V1EnvFromSource,
  V1EnvVar,
  V1Pod,
  V1PodSpec,
  V1ResourceRequirements,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
}

/** A Kubernetes Secret exposed to the base container, as KubernetesPodOperator's `secrets`. */
export type PodSecret =
  | {
      /** Expose one key of the Secret as an environment variable (or all keys when `key` is omitted). */
      deployType: 'env'
      secret: string
      key?: string
      /** The variable name; defaults to the key. Required with `key`. */
      deployTarget?: string
    }
  | {
      /** Mount the Secret as files under `deployTarget`. */
      deployType: 'volume'
      secret: string
      deployTarget: string
      key?: string
    }

/**
 * What a `.pod` task runs: the fields of KubernetesPodOperator, with Kubernetes' names and types.
 * The base container is called `base`; everything not listed here can come from `podTemplate` or
 * `fullPodSpec`, which are merged under these fields.
 */
export interface PodSpec {
  image: string
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never'
  /** Names of registry Secrets, or the API's reference objects. */
  imagePullSecrets?: Array<string | V1LocalObjectReference>
  command?: string[]
  args?: string[]
  /** A name → value map, or the API's list (which allows `valueFrom`). */
  env?: Record<string, string> | V1EnvVar[]
  envFrom?: V1EnvFromSource[]
  secrets?: PodSecret[]
  volumes?: V1Volume[]
  volumeMounts?: V1VolumeMount[]
  resources?: V1ResourceRequirements
  workingDir?: string
  /** Defaults to the worker's namespace setting. */
  namespace?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  nodeSelector?: Record<string, string>
  affinity?: V1Affinity
  tolerations?: V1Toleration[]
  serviceAccountName?: string
  /** The pod's security context. */
  securityContext?: V1PodSecurityContext
  /** The base container's security context. */
  containerSecurityContext?: V1SecurityContext
  priorityClassName?: string
  activeDeadlineSeconds?: number
  terminationGracePeriodSeconds?: number
  hostNetwork?: boolean
  dnsPolicy?: V1PodSpec['dnsPolicy']
  initContainers?: V1Container[]
  /** A pod to start from: a path to a YAML file (read on the worker) or an object. */
  podTemplate?: string | V1Pod
  /** A complete pod merged under the task's fields (after `podTemplate`). */
  fullPodSpec?: V1Pod
}

/** Where a pod task's result goes: what runs with the pod, not what is in it. */
export interface PodRunOptions {
  /** `delete_pod` (default) deletes it when the task ends; `delete_succeeded_pod` keeps failed pods for inspection. */
  onFinish?: 'delete_pod' | 'delete_succeeded_pod' | 'keep_pod'
  /** Fail when the pod is still Pending (unscheduled, pulling) after this long. Default 5m. */
  scheduleTimeout?: number | `${number}${'ms' | 's' | 'm' | 'h'}`
  /** Exit codes of `base` that mark the task skipped instead of failed. */
  skipOnExitCode?: number | number[]
  /** Where `base` writes its result. Default `/airflow/xcom/return.json`. */
  xcomPath?: string
  /** The sidecar that hands the result back. */
  sidecar?: {
    image?: string
    resources?: V1ResourceRequirements
    /** `native` (Kubernetes 1.29+, default) or `exec` for older clusters. */
    mode?: 'native' | 'exec'
    /**
     * Merged key by key over the default, which passes the Pod Security Standard "restricted"
     * profile: user and group 65534, runAsNonRoot, no privilege escalation, every capability
     * dropped, the runtime's default seccomp profile and a read-only root filesystem.
     */
    securityContext?: V1SecurityContext
  }
}
