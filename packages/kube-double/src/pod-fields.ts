import type { PodJson } from './wire-types.js'

/**
 * A pod's value at a field path, as both field selectors and the downward API (`fieldRef`) read it.
 * `spec.serviceAccountName` is `default` when unset, as the service-account admission sets it.
 */
export function podField(pod: PodJson, path: string): string | undefined {
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path)
  if (label) return pod.metadata[label[1] as 'labels' | 'annotations']?.[label[2] ?? '']
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name
    case 'metadata.namespace':
      return pod.metadata.namespace
    case 'metadata.uid':
      return pod.metadata.uid
    case 'spec.nodeName':
      return pod.spec.nodeName
    case 'spec.restartPolicy':
      return pod.spec.restartPolicy
    case 'spec.schedulerName':
      return pod.spec.schedulerName
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default'
    case 'status.phase':
      return pod.status.phase
    case 'status.podIP':
      return pod.status.podIP
    case 'status.hostIP':
      return pod.status.hostIP
    default:
      return undefined
  }
}
