/**
 * Wraps a task's inputs so that plain-JS callers get the rule the types enforce: reading an upstream
 * that is not in `needs` throws a clear error instead of quietly yielding `undefined`. Fields of an
 * upstream's value are left alone: reading one it did not return gives `undefined`, as in plain
 * TypeScript, which is what an optional field (`?:`, zod's `.optional()`) or a union says.
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
  // An upstream with no output (skipped, or failed under a tolerant trigger rule) is undefined.
  for (const name of needs) top[name] = values[name]
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
