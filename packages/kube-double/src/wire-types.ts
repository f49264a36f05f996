// The JSON the API serves, typed for the fields the double reads or writes. Objects keep any other
// field a client sends (they are stored as parsed), so a round trip loses nothing.

export interface ObjectMeta {
  name?: string
  generateName?: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export interface EnvVar {
  name: string
  value?: string
  valueFrom?: {
    fieldRef?: { fieldPath: string }
    secretKeyRef?: { name: string; key: string; optional?: boolean }
    configMapKeyRef?: { name: string; key: string; optional?: boolean }
  }
}

export interface VolumeMountJson {
  name: string
  mountPath: string
  readOnly?: boolean
  subPath?: string
}

export interface ContainerJson {
  name: string
  image?: string
  imagePullPolicy?: string
  command?: string[]
  args?: string[]
  env?: EnvVar[]
  workingDir?: string
  volumeMounts?: VolumeMountJson[]
  restartPolicy?: string
  resources?: {
    limits?: Record<string, string | number>
    requests?: Record<string, string | number>
  }
  securityContext?: SecurityContextJson
  terminationMessagePath?: string
  terminationMessagePolicy?: string
  /** Only `exec` probes run in the double (the one kind Podline's sidecar uses). */
  startupProbe?: {
    exec?: { command?: string[] }
    initialDelaySeconds?: number
    periodSeconds?: number
    failureThreshold?: number
  }
}

/** The container's and the pod's securityContext fields the Pod Security checks read. */
export interface SecurityContextJson {
  privileged?: boolean
  allowPrivilegeEscalation?: boolean
  runAsNonRoot?: boolean
  runAsUser?: number
  readOnlyRootFilesystem?: boolean
  capabilities?: { add?: string[]; drop?: string[] }
  seccompProfile?: { type?: string; localhostProfile?: string }
  [field: string]: unknown
}

export interface VolumeJson {
  name: string
  emptyDir?: { medium?: string; sizeLimit?: string }
  [source: string]: unknown
}

export interface NodeSelectorRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'
  values?: string[]
}

export interface PodSpecJson {
  containers: ContainerJson[]
  initContainers?: ContainerJson[]
  volumes?: VolumeJson[]
  nodeSelector?: Record<string, string>
  nodeName?: string
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: {
        nodeSelectorTerms: Array<{ matchExpressions?: NodeSelectorRequirement[] }>
      }
    }
  }
  restartPolicy?: string
  terminationGracePeriodSeconds?: number
  activeDeadlineSeconds?: number
  serviceAccountName?: string
  schedulerName?: string
  [field: string]: unknown
}

export interface PodCondition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason?: string
  message?: string
  lastProbeTime: string | null
  lastTransitionTime: string
}

export interface ContainerState {
  waiting?: { reason: string; message?: string }
  running?: { startedAt: string }
  terminated?: {
    exitCode: number
    signal?: number
    reason: string
    message?: string
    startedAt?: string
    finishedAt: string
    containerID?: string
  }
}

export interface ContainerStatusJson {
  name: string
  image: string
  imageID: string
  containerID?: string
  ready: boolean
  started: boolean
  restartCount: number
  state: ContainerState
  lastState: ContainerState
}

export interface PodStatusJson {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'
  reason?: string
  message?: string
  conditions?: PodCondition[]
  hostIP?: string
  hostIPs?: Array<{ ip: string }>
  podIP?: string
  podIPs?: Array<{ ip: string }>
  startTime?: string
  qosClass?: string
  initContainerStatuses?: ContainerStatusJson[]
  containerStatuses?: ContainerStatusJson[]
}

export interface PodJson {
  kind?: 'Pod'
  apiVersion?: 'v1'
  metadata: ObjectMeta
  spec: PodSpecJson
  status: PodStatusJson
}

export interface EventJson {
  kind?: 'Event'
  apiVersion?: 'v1'
  metadata: ObjectMeta
  involvedObject: {
    kind: string
    namespace: string
    name: string
    uid?: string
    apiVersion: string
    resourceVersion?: string
    fieldPath?: string
  }
  reason: string
  message: string
  source: { component: string; host?: string }
  firstTimestamp: string
  lastTimestamp: string
  count: number
  type: 'Normal' | 'Warning'
  eventTime: null
  reportingComponent: string
  reportingInstance: string
}

export interface StatusJson {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, never>
  status: 'Failure' | 'Success'
  message?: string
  reason?: string
  details?: {
    name?: string
    group?: string
    kind?: string
    causes?: Array<{ reason?: string; message: string; field?: string }>
    retryAfterSeconds?: number
  }
  code?: number
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
