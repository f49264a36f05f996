export type { ApiRetryPolicy } from './api-call.js'
export { declaredPodNamespaces } from './declared-namespaces.js'
export type { KubeClient, KubeOptions } from './kube-client.js'
export { createKubeClient } from './kube-client.js'
export type { PodSweepOptions, PodTaskRef } from './orphan-pods.js'
export { collectOrphanPods, deletePodsOfRun } from './orphan-pods.js'
export type { PodBuildInput } from './pod-builder.js'
export { buildPod } from './pod-builder.js'
export type { PodExecutor, PodExecutorOptions, PodSweep } from './pod-executor.js'
export { createPodExecutor } from './pod-executor.js'
export type { PodIdentity } from './pod-identity.js'
export { labelValue, podLabels, podName } from './pod-identity.js'
export { launchPod } from './pod-launcher.js'
export type { PodStatus } from './pod-status.js'
export { podStatus } from './pod-status.js'
export { runPodAsProcesses } from './process-runtime.js'
export type { RenderPodsOptions } from './render-pods.js'
export { renderPods } from './render-pods.js'
export {
  FRAME_STORED,
  SIDECAR_IMAGE_SCRIPT_PATH,
  SIDECAR_SCRIPT,
  sidecarImageScript,
  UPLOAD_URL_ENV,
  XCOM_FRAME_LIMIT_BYTES,
} from './sidecar-script.js'
export { symbolicInputs, symbolicValue } from './symbolic-inputs.js'
export { formatXcomFrame, parseXcomFrame } from './xcom-frame.js'
export type { SidecarMode, SidecarSettings } from './xcom-sidecar.js'
export {
  BASE_CONTAINER,
  DEFAULT_SIDECAR_IMAGE,
  DEFAULT_SIDECAR_RESOURCES,
  DEFAULT_SIDECAR_SECURITY_CONTEXT,
  DEFAULT_XCOM_PATH,
  resolveSidecar,
  SIDECAR_CONTAINER,
} from './xcom-sidecar.js'
export { DEFAULT_XCOM_SIZE_LIMIT_BYTES, decodeResult } from './xcom-value.js'
