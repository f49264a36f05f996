import { posix } from 'node:path'
import type { V1Container, V1ResourceRequirements, V1SecurityContext } from '@kubernetes/client-node'
import type { PodRunOptions } from '@podline/sdk'
import { mergePods } from './pod-merge.js'
import {
  DEFAULT_MESSAGE_PATH,
  MESSAGE_PATH_ENV,
  PID_FILE_ENV,
  SIDECAR_PID_FILE,
  SIDECAR_SCRIPT,
  UPLOAD_URL_ENV,
} from './sidecar-script.js'

export const BASE_CONTAINER = 'base'
export const SIDECAR_CONTAINER = 'podline-xcom'
export const XCOM_VOLUME = 'xcom'
export const DEFAULT_XCOM_PATH = '/airflow/xcom/return.json'
export const DEFAULT_SIDECAR_IMAGE = 'alpine:3.20'
export const XCOM_PATH_ENV = 'PODLINE_XCOM_PATH'

/**
 * Requests and limits by default: a namespace with a ResourceQuota on cpu/memory rejects (403) any pod
 * with a container that declares none, which is how Airflow's resource-less sidecar breaks.
 */
export const DEFAULT_SIDECAR_RESOURCES: V1ResourceRequirements = Object.freeze({
  requests: { cpu: '10m', memory: '16Mi' },
  limits: { cpu: '50m', memory: '32Mi' },
})

/**
 * The sidecar's securityContext by default: it passes the Pod Security Standard "restricted" profile
 * (and sets a read-only root filesystem besides), so a pod task runs in a namespace that enforces it
 * as soon as its base container does too. The sidecar only reads the result file and writes its PID
 * file in the xcom emptyDir (world-writable), so any user works; 65534 is `nobody`. A base that
 * writes its result unreadable to others (umask 077) needs the sidecar to run as base's user.
 */
export const DEFAULT_SIDECAR_SECURITY_CONTEXT: V1SecurityContext = Object.freeze({
  runAsNonRoot: true,
  runAsUser: 65534,
  runAsGroup: 65534,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
})

export type SidecarMode = 'native' | 'exec'

/** The sidecar of one pod, every default applied. */
export interface SidecarSettings {
  readonly image: string
  readonly mode: SidecarMode
  readonly resources: V1ResourceRequirements
  readonly securityContext: V1SecurityContext
  /** Where `base` writes its result (absolute, in the container). */
  readonly xcomPath: string
  /**
   * The presigned PUT of this attempt's object in the XCom store, for a result over the log frame's
   * limit (native mode with an S3 store only). It carries a signature, never a secret: see
   * redactPresignedUrls for where it is hidden from view.
   */
  readonly uploadUrl?: string | undefined
}

/** Task options over executor defaults over built-in defaults; resources merge key by key. */
export function resolveSidecar(
  run: PodRunOptions,
  defaults: { image?: string | undefined; mode?: SidecarMode | undefined } = {},
): SidecarSettings {
  const xcomPath = run.xcomPath ?? DEFAULT_XCOM_PATH
  if (!posix.isAbsolute(xcomPath) || xcomPath.endsWith('/')) {
    throw new TypeError(
      `xcomPath ${JSON.stringify(xcomPath)} must be an absolute file path, e.g. "/airflow/xcom/return.json"`,
    )
  }
  return {
    image: run.sidecar?.image ?? defaults.image ?? DEFAULT_SIDECAR_IMAGE,
    mode: run.sidecar?.mode ?? defaults.mode ?? 'native',
    resources: mergePods(structuredClone(DEFAULT_SIDECAR_RESOURCES), run.sidecar?.resources),
    securityContext: mergePods(
      structuredClone(DEFAULT_SIDECAR_SECURITY_CONTEXT),
      run.sidecar?.securityContext,
    ),
    xcomPath: posix.normalize(xcomPath),
  }
}

export function xcomDir(settings: Pick<SidecarSettings, 'xcomPath'>): string {
  return posix.dirname(settings.xcomPath)
}

export function sidecarPidFile(settings: Pick<SidecarSettings, 'xcomPath'>): string {
  return posix.join(xcomDir(settings), SIDECAR_PID_FILE)
}

/**
 * The sidecar container. Native mode: an init container with `restartPolicy: Always` (Kubernetes
 * 1.29+), which the kubelet SIGTERMs once the main containers have exited, so the pod completes on
 * its own and the frame is in the log. Exec mode: a plain container that the launcher stops by exec.
 */
export function sidecarContainer(settings: SidecarSettings): V1Container {
  return {
    name: SIDECAR_CONTAINER,
    image: settings.image,
    command: ['sh', '-c', kubernetesLiteral(SIDECAR_SCRIPT)],
    env: [
      { name: XCOM_PATH_ENV, value: settings.xcomPath },
      { name: PID_FILE_ENV, value: sidecarPidFile(settings) },
      { name: MESSAGE_PATH_ENV, value: DEFAULT_MESSAGE_PATH },
      ...(settings.uploadUrl ? [{ name: UPLOAD_URL_ENV, value: settings.uploadUrl }] : []),
    ],
    terminationMessagePath: DEFAULT_MESSAGE_PATH,
    terminationMessagePolicy: 'File',
    volumeMounts: [{ name: XCOM_VOLUME, mountPath: xcomDir(settings) }],
    resources: structuredClone(settings.resources),
    securityContext: structuredClone(settings.securityContext),
    ...(settings.mode === 'native'
      ? {
          restartPolicy: 'Always',
          // The kubelet starts base only once a native sidecar's startup probe passes. The PID file is
          // written after the SIGTERM trap is set, so a base that exits at once cannot stop the
          // sidecar before it can print its frame.
          startupProbe: {
            exec: { command: ['test', '-f', sidecarPidFile(settings)] },
            periodSeconds: 1,
            failureThreshold: 120,
          },
        }
      : {}),
  }
}

/**
 * The kubelet expands `$(VAR)` in command and args and reduces `$$` to `$`, which would turn the
 * script's `$$` (its PID) into `$`. Doubling every `$` makes the kubelet hand the script over verbatim.
 */
export function kubernetesLiteral(text: string): string {
  return text.replace(/\$/g, () => '$$')
}
