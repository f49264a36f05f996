import type { AnyPipeline } from '@podline/sdk'

/**
 * The namespaces the pod tasks of these pipelines name in their static specs, so a restarted worker
 * sweeps them before it has launched anything there (dynamic specs are known once launched). Kept
 * apart from the launcher so the worker can call it without loading the Kubernetes client.
 */
export function declaredPodNamespaces(pipelines: readonly AnyPipeline[]): string[] {
  const found = new Set<string>()
  for (const def of pipelines.flatMap((p) => p.tasks)) {
    if (def.kind !== 'pod' || typeof def.spec === 'function') continue
    for (const ns of [def.spec.namespace, def.spec.fullPodSpec?.metadata?.namespace]) if (ns) found.add(ns)
  }
  return [...found]
}
