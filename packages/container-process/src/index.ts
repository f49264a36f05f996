export { canBindMount } from './bind-mount-support.js'
export type {
  ContainerExit,
  ContainerProcess,
  ContainerProcessSpec,
  OutputStream,
  VolumeMount,
} from './container-spec.js'
export { ContainerStartError } from './container-start-error.js'
export type { ExecOptions, ExecResult } from './exec-in-container.js'
export { execInContainer } from './exec-in-container.js'
export { exitCodeOf } from './exit-code.js'
export type {
  EnvironmentOptions,
  MissingVolume,
  PodContainer,
  PodEnvVar,
  PodObject,
  PodVolume,
  PodVolumeMount,
  ProcessLayout,
  StoredValueReference,
} from './pod-container.js'
export {
  containerCommand,
  containerEnvironment,
  containerMounts,
  containerProcess,
  createEmptyDirs,
  podField,
} from './pod-container.js'
export { processGroupRssBytes } from './process-group-memory.js'
export { InvalidQuantityError, parseMemoryBytes, parseQuantity } from './quantity.js'
export { toHostPath } from './resolve-executable.js'
export { startContainerProcess } from './start-container-process.js'
