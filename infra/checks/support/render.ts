import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { K8S_DIR, type Kustomization } from './repo.js'

/** The parts of a Kubernetes object every check reads; the rest is walked as plain JSON. */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  [field: string]: unknown
}

const cache = new Map<Kustomization, KubeObject[]>()

/** `kubectl kustomize` of one kustomization, parsed; throws with kubectl's own message on failure. */
export function render(kustomization: Kustomization): KubeObject[] {
  const cached = cache.get(kustomization)
  if (cached) return cached
  let yaml: string
  try {
    yaml = execFileSync('kubectl', ['kustomize', join(K8S_DIR, kustomization)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error)
    throw new Error(`kubectl kustomize infra/k8s/${kustomization} failed: ${stderr.trim()}`)
  }
  const objects = parseAllDocuments(yaml).map((doc) => {
    if (doc.errors.length) throw new Error(`infra/k8s/${kustomization}: ${doc.errors[0]?.message}`)
    return doc.toJS() as KubeObject
  })
  cache.set(kustomization, objects)
  return objects
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name)
}

/** The object, typed as the caller reads it (`T` names the fields it relies on). */
export function mustFind<T extends object = KubeObject>(
  objects: KubeObject[],
  kind: string,
  name: string,
): KubeObject & T {
  const found = find(objects, kind, name)
  if (!found) throw new Error(`no ${kind} named ${name} in the rendered manifests`)
  return found as KubeObject & T
}
