import * as k8s from '@kubernetes/client-node'

// The JSON schemas of kubernetes-models allow unknown properties, as the API's OpenAPI does; the
// API server (kubectl's default --validate=strict) rejects them. client-node's models carry each
// type's field list, so a misspelt field (`replica:`, `readinessprobe:`) is caught here offline.

interface AttributeType {
  baseName: string
  type: string
}
interface Model {
  getAttributeTypeMap(): AttributeType[]
}

const models = k8s as unknown as Record<string, Model | undefined>

function modelOf(type: string): Model | undefined {
  const model = models[type]
  return typeof model?.getAttributeTypeMap === 'function' ? model : undefined
}

/** client-node's type name for a built-in kind, e.g. `apps/v1` + `Deployment` → `V1Deployment`. */
export function builtinTypeName(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split('/').at(-1) ?? ''
  const type = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`
  return modelOf(type) ? type : undefined
}

/** Paths of fields the type does not define, e.g. `spec.template.spec.containers[0].readinessprobe`. */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  const array = /^Array<(.+)>$/.exec(type)
  if (array?.[1] && Array.isArray(value)) {
    return value.flatMap((item, i) => unknownFields(item, array[1] as string, `${path}[${i}]`))
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type)
  if (map?.[1] && isObject(value)) {
    return Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1] as string, `${path}.${k}`))
  }
  const model = modelOf(type)
  if (!model || !isObject(value)) return []
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]))
  return Object.entries(value).flatMap(([key, child]) => {
    const childPath = path ? `${path}.${key}` : key
    const childType = fields.get(key)
    return childType === undefined ? [childPath] : unknownFields(child, childType, childPath)
  })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
