import { inspect } from 'node:util'

/**
 * Stand-ins for upstream outputs when a pod spec is rendered without running anything (`podline plan`).
 * Any field, at any depth, exists (`in` answers true) and turns into the placeholder `{{ task.field }}`
 * when used as a string (template literals, String(), JSON.stringify). A method call on it is a
 * placeholder too (`day.replaceAll('-', '')` renders as `{{ day.replaceAll(…) }}`), arithmetic gives
 * NaN and iteration finds nothing: a rendered spec shows where a value goes, not what it will be.
 * @example
 * symbolicInputs(['extract']).extract.uri // renders as '{{ extract.uri }}'
 */
export function symbolicInputs(needs: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(needs.map((name) => [name, symbolicValue(name)]))
}

export function symbolicValue(path: string): unknown {
  const placeholder = `{{ ${path} }}`
  // An arrow function as target, so the value can be called (a method of an upstream string or
  // array) and has no non-configurable `prototype` that the descriptor trap below would contradict.
  const target = () => undefined
  return new Proxy(target, {
    apply: () => symbolicValue(`${path}(…)`),
    get(_target, key) {
      if (key === Symbol.toPrimitive) return (hint: string) => (hint === 'number' ? Number.NaN : placeholder)
      if (key === Symbol.iterator) return emptyIterator
      if (key === inspect.custom) return () => placeholder
      if (typeof key === 'symbol') return undefined
      if (key === 'toString' || key === 'toJSON' || key === 'valueOf') return () => placeholder
      // Not a thenable: `await symbolic` must give the proxy back, not hang.
      if (key === 'then') return undefined
      return symbolicValue(`${path}.${key}`)
    },
    has: (_target, key) => typeof key === 'string',
    // Reported as own, configurable properties so that wrappers which check Object.hasOwn (the SDK's
    // input guard) let every field through.
    getOwnPropertyDescriptor(_target, key) {
      if (typeof key === 'symbol') return undefined
      return {
        configurable: true,
        enumerable: false,
        writable: false,
        value: symbolicValue(`${path}.${key}`),
      }
    },
  })
}

function* emptyIterator(): Generator<never> {}
