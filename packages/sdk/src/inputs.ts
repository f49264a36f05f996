/**
 * Wraps a task's inputs so that plain-JS callers get the rule the types enforce: reading an upstream
 * that is not in `needs`, or a field an upstream did not return, throws a clear error instead of
 * quietly yielding `undefined`. Test optional fields with `'field' in value`.
 */
export class InputAccessError extends Error {
  override readonly name = 'InputAccessError'
}

// Read by await, JSON.stringify, util.inspect and test matchers on any object: never an error.
const PASS_THROUGH = new Set([
  'then',
  'toJSON',
  'constructor',
  'asymmetricMatch',
  '$$typeof',
  'nodeType',
  'length',
])

export function guardInputs(
  task: string,
  needs: readonly string[],
  values: Record<string, unknown>,
): Record<string, unknown> {
  const top: Record<string, unknown> = {}
  for (const name of needs) top[name] = guardValue(task, name, values[name])
  return new Proxy(top, {
    get(target, key, receiver) {
      if (typeof key === 'symbol' || key in target || PASS_THROUGH.has(key))
        return Reflect.get(target, key, receiver)
      throw new InputAccessError(
        `task "${task}" read the output of "${key}", but "${key}" is not in its needs ` +
          `(${needs.length ? needs.map((n) => `"${n}"`).join(', ') : 'none'}); add it to needs: [...] to receive it`,
      )
    },
  })
}

function guardValue(task: string, path: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  return new Proxy(value as object, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver)
      if (typeof key === 'symbol' || PASS_THROUGH.has(key)) return child
      if (!(key in target)) {
        throw new InputAccessError(
          `task "${task}" read ${path}.${key}, but that value has no field "${key}"` +
            (Array.isArray(target) ? '' : ` (fields: ${Object.keys(target).join(', ') || 'none'})`) +
            `; if it is optional, test it with '${key}' in ${path} first`,
        )
      }
      // Methods of the prototype (map, toString, …) are returned as they are.
      if (!Object.hasOwn(target, key)) return child
      return guardValue(task, Array.isArray(target) ? `${path}[${key}]` : `${path}.${key}`, child)
    },
  })
}
