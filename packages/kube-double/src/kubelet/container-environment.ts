import { containerEnvironment as environmentOf } from '@podline/container-process'
import type { ContainerJson, PodJson } from '../wire-types.js'

/** Why a container's configuration cannot be built (the kubelet's CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError'
}

/**
 * The container's environment as the kubelet builds it (@podline/container-process's
 * containerEnvironment). The double has no Secrets or ConfigMaps, so a reference to one is the
 * kubelet's "not found" (unless optional).
 */
export function containerEnvironment(pod: PodJson, container: ContainerJson): Record<string, string> {
  return environmentOf(pod, container, {
    storedValue: (ref) => {
      if (!ref.optional) throw new ContainerConfigError(`${ref.kind} "${ref.name}" not found`)
      return undefined
    },
  })
}
