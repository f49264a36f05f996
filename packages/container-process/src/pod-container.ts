import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { ContainerProcessSpec, VolumeMount } from './container-spec.js'
import { parseMemoryBytes } from './quantity.js'
import { toHostPath } from './resolve-executable.js'

// How a container of a Pod becomes a local process, as a kubelet builds it: one home for the two
// emulations of a node, the Kubernetes double's kubelet and the runner's process runtime. The types
// are the fields read here, structurally, so @kubernetes/client-node's V1Pod and the double's stored
// JSON both fit and this package depends on neither.

export interface PodEnvVar {
  name: string
  value?: string
  valueFrom?: {
    fieldRef?: { fieldPath: string }
    secretKeyRef?: { name?: string; key: string; optional?: boolean }
    configMapKeyRef?: { name?: string; key: string; optional?: boolean }
  }
}

export interface PodVolumeMount {
  name: string
  mountPath: string
  readOnly?: boolean
  subPath?: string
}

export interface PodContainer {
  name: string
  command?: string[]
  args?: string[]
  env?: PodEnvVar[]
  workingDir?: string
  volumeMounts?: PodVolumeMount[]
  resources?: { limits?: Record<string, string | number> }
}

export interface PodVolume {
  name: string
  emptyDir?: object
  hostPath?: { path?: string }
  secret?: { secretName?: string }
  configMap?: { name?: string }
}

export interface PodObject {
  metadata?: {
    name?: string
    namespace?: string
    uid?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
  }
  spec?: {
    volumes?: PodVolume[]
    nodeName?: string
    restartPolicy?: string
    schedulerName?: string
    serviceAccountName?: string
  }
  status?: { phase?: string; podIP?: string; hostIP?: string }
}

/** The plain fields a field path may name (besides labels and annotations), by section. */
const POD_FIELDS = {
  metadata: ['name', 'namespace', 'uid'],
  spec: ['nodeName', 'restartPolicy', 'schedulerName', 'serviceAccountName'],
  status: ['phase', 'podIP', 'hostIP'],
} as const

/**
 * A pod's value at a field path, as both field selectors and the downward API (`fieldRef`) read it.
 * `spec.serviceAccountName` is `default` when unset, as the service-account admission sets it.
 */
export function podField(pod: PodObject, path: string): string | undefined {
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path)
  if (label) return pod.metadata?.[label[1] as 'labels' | 'annotations']?.[label[2] ?? '']
  const [section = '', key = '', ...rest] = path.split('.')
  if (rest.length > 0 || !isPodFieldSection(section)) return undefined
  if (!(POD_FIELDS[section] as readonly string[]).includes(key)) return undefined
  const value = (pod[section] as Record<string, unknown> | undefined)?.[key] as string | undefined
  return path === 'spec.serviceAccountName' ? (value ?? 'default') : value
}

const isPodFieldSection = (section: string): section is keyof typeof POD_FIELDS =>
  Object.hasOwn(POD_FIELDS, section)

/** A variable that reads a Secret or a ConfigMap, which only an API server can answer. */
export interface StoredValueReference {
  readonly variable: string
  readonly kind: 'secret' | 'configmap'
  readonly name: string
  readonly key: string
  readonly optional: boolean
}

export interface EnvironmentOptions {
  /**
   * The value of a secretKeyRef or configMapKeyRef, or undefined to leave the variable unset; throw to
   * refuse the container (the kubelet's CreateContainerConfigError). Unset when not given.
   */
  readonly storedValue?: (reference: StoredValueReference) => string | undefined
}

/**
 * The container's environment as the kubelet builds it: HOSTNAME, then `env` in order with `$(VAR)`
 * references expanded and downward-API fields (`fieldRef`) resolved against the pod.
 */
export function containerEnvironment(
  pod: PodObject,
  container: PodContainer,
  options: EnvironmentOptions = {},
): Record<string, string> {
  const env: Record<string, string> = { HOSTNAME: pod.metadata?.name ?? '' }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom
    const stored = from?.secretKeyRef
      ? { kind: 'secret' as const, ref: from.secretKeyRef }
      : from?.configMapKeyRef
        ? { kind: 'configmap' as const, ref: from.configMapKeyRef }
        : undefined
    if (from?.fieldRef) {
      env[variable.name] = podField(pod, from.fieldRef.fieldPath) ?? ''
    } else if (stored) {
      const value = options.storedValue?.({
        variable: variable.name,
        kind: stored.kind,
        name: stored.ref.name ?? '',
        key: stored.ref.key,
        optional: stored.ref.optional ?? false,
      })
      if (value !== undefined) env[variable.name] = value
    } else {
      env[variable.name] = expandReferences(variable.value ?? '', env)
    }
  }
  return env
}

/** The command line: `command` then `args`, with `$(VAR)` expanded and `$$` escaping a dollar. */
export function containerCommand(container: PodContainer, env: Readonly<Record<string, string>>): string[] {
  return [...(container.command ?? []), ...(container.args ?? [])].map((part) => expandReferences(part, env))
}

function expandReferences(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$'
    return name !== undefined && env[name] !== undefined ? env[name] : match
  })
}

/** Makes each emptyDir volume of the pod a folder, `root/<volume name>`. */
export async function createEmptyDirs(pod: PodObject, root: string): Promise<void> {
  for (const volume of pod.spec?.volumes ?? []) {
    if (volume.emptyDir) await mkdir(join(root, volume.name), { recursive: true })
  }
}

/** A volume mount with no host folder behind it: a Secret, a ConfigMap, another kind, or no such volume. */
export interface MissingVolume {
  readonly mount: PodVolumeMount
  readonly kind: 'secret' | 'configmap' | 'volume'
  /** The Secret's or ConfigMap's name, else the mount's. */
  readonly name: string
}

/**
 * The container's volume mounts as host folders: an emptyDir is `root/<volume name>` (see
 * createEmptyDirs), a hostPath is its path. Any other mount is passed to `missing` and left out;
 * throw there to refuse the container.
 */
export function containerMounts(
  pod: PodObject,
  container: PodContainer,
  root: string,
  missing: (volume: MissingVolume) => void,
): VolumeMount[] {
  return (container.volumeMounts ?? []).flatMap((mount) => {
    const volume = pod.spec?.volumes?.find((v) => v.name === mount.name)
    let hostPath: string
    if (volume?.emptyDir) hostPath = join(root, volume.name)
    else if (volume?.hostPath?.path) hostPath = volume.hostPath.path
    else {
      missing({
        mount,
        kind: volume?.configMap ? 'configmap' : volume?.secret ? 'secret' : 'volume',
        name: volume?.configMap?.name ?? volume?.secret?.secretName ?? mount.name,
      })
      return []
    }
    return [
      {
        hostPath: mount.subPath ? join(hostPath, mount.subPath) : hostPath,
        containerPath: mount.mountPath,
        readOnly: mount.readOnly ?? false,
      },
    ]
  })
}

export interface ProcessLayout {
  /** The mounts are bind-mounted at their container paths (see canBindMount). */
  readonly bindMounts: boolean
  /** Variables that hold a path in the container, pointed at the host path when nothing is bind-mounted. */
  readonly pathVariables?: readonly string[]
}

/**
 * The process a container becomes, from its environment and mounts (containerEnvironment,
 * containerMounts): `command` then `args` with `$(VAR)` expanded, its memory limit, and, where
 * nothing can be bind-mounted, the host's view: no mounts, the working directory and the path
 * variables mapped to the host folders behind the mounts.
 * @example
 * const env = containerEnvironment(pod, container)
 * const spec = containerProcess(container, env, containerMounts(pod, container, root, refuse), { bindMounts })
 * const proc = await startContainerProcess({ ...spec, onOutput })
 */
export function containerProcess(
  container: PodContainer,
  env: Readonly<Record<string, string>>,
  mounts: readonly VolumeMount[],
  layout: ProcessLayout,
): ContainerProcessSpec {
  let view = { env, mounts, workingDir: container.workingDir }
  if (!layout.bindMounts) {
    const hostEnv = { ...env }
    for (const name of layout.pathVariables ?? []) {
      const path = env[name]
      if (path !== undefined) hostEnv[name] = toHostPath(path, mounts)
    }
    const workingDir = container.workingDir && toHostPath(container.workingDir, mounts)
    view = { env: hostEnv, mounts: [], workingDir }
  }
  const memory = container.resources?.limits?.memory
  return {
    name: container.name,
    command: containerCommand(container, view.env),
    env: view.env,
    mounts: view.mounts,
    ...(view.workingDir ? { workingDir: view.workingDir } : {}),
    ...(memory === undefined ? {} : { memoryLimitBytes: parseMemoryBytes(memory) }),
  }
}
