/**
 * Deep-merges pod objects the way KubernetesPodOperator reconciles a template with the operator's
 * fields: objects merge key by key, `overlay` wins on conflicts, lists of named things (containers,
 * volumes, env, …) merge item by item on their key, and any other list is replaced as a whole.
 * `undefined` in the overlay never erases a value of the base.
 */

// Lists whose items are identified by a key: merging them positionally would pair unrelated items.
const KEYED_LISTS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
}

type Plain = Record<string, unknown>

export function mergePods<T extends object>(base: T | undefined, overlay: T | undefined): T {
  return mergeValue(base, overlay, undefined) as T
}

function mergeValue(base: unknown, overlay: unknown, key: string | undefined): unknown {
  if (overlay === undefined) return clone(base)
  if (base === undefined) return clone(overlay)
  if (Array.isArray(base) && Array.isArray(overlay)) {
    const itemKey = key === undefined ? undefined : KEYED_LISTS[key]
    return itemKey ? mergeKeyed(base, overlay, itemKey) : clone(overlay)
  }
  if (isPlain(base) && isPlain(overlay)) {
    const out: Plain = {}
    for (const k of new Set([...Object.keys(base), ...Object.keys(overlay)])) {
      const merged = mergeValue(base[k], overlay[k], k)
      if (merged !== undefined) out[k] = merged
    }
    return out
  }
  return clone(overlay)
}

function mergeKeyed(base: unknown[], overlay: unknown[], itemKey: string): unknown[] {
  const out = base.map((item) => clone(item))
  for (const item of overlay) {
    const id = isPlain(item) ? item[itemKey] : undefined
    const at =
      id === undefined ? -1 : out.findIndex((existing) => isPlain(existing) && existing[itemKey] === id)
    if (at === -1) out.push(clone(item))
    else out[at] = mergeValue(out[at], item, undefined)
  }
  return out
}

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function clone(value: unknown): unknown {
  return value === undefined ? undefined : structuredClone(value)
}
