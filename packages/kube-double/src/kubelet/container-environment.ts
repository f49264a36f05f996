import { podField } from '../pod-fields.js'
import type { ContainerJson, PodJson } from '../wire-types.js'

/** Why a container's configuration cannot be built (the kubelet's CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError'
}

/**
 * The container's environment as the kubelet builds it: HOSTNAME, then `env` in order with `$(VAR)`
 * references expanded and downward-API fields resolved. The double has no Secrets or ConfigMaps, so
 * a reference to one is the kubelet's "not found" (unless optional).
 */
export function containerEnvironment(pod: PodJson, container: ContainerJson): Record<string, string> {
  const env: Record<string, string> = { HOSTNAME: pod.metadata.name ?? '' }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom
    if (from?.fieldRef) {
      env[variable.name] = podField(pod, from.fieldRef.fieldPath) ?? ''
    } else if (from?.secretKeyRef) {
      if (!from.secretKeyRef.optional)
        throw new ContainerConfigError(`secret "${from.secretKeyRef.name}" not found`)
    } else if (from?.configMapKeyRef) {
      if (!from.configMapKeyRef.optional) {
        throw new ContainerConfigError(`configmap "${from.configMapKeyRef.name}" not found`)
      }
    } else {
      env[variable.name] = expandReferences(variable.value ?? '', env)
    }
  }
  return env
}

/** The command line: `command` then `args`, with `$(VAR)` expanded and `$$` escaping a dollar. */
export function containerCommand(container: ContainerJson, env: Record<string, string>): string[] {
  return [...(container.command ?? []), ...(container.args ?? [])].map((part) => expandReferences(part, env))
}

function expandReferences(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$'
    return name !== undefined && env[name] !== undefined ? env[name] : match
  })
}
