/** A value that survives `JSON.stringify` → `JSON.parse` unchanged: what a task may return. */
export type JsonPrimitive = string | number | boolean | null
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

type NotJson = bigint | symbol | undefined | ((...args: never[]) => unknown)

// Depth cap: past it a value is accepted, so recursive user types cannot blow up the checker.
type Depth = [never, 0, 1, 2, 3, 4, 5, 6, 7, 8]

/**
 * `true` when `T` is JSON all the way down, `false` otherwise. Class instances such as Date and Map
 * are refused because they carry methods (function-valued members); optional object members are
 * allowed because JSON simply leaves them out, which is what the optional type says.
 */
export type IsJson<T, D extends number = 9> = [D] extends [never]
  ? true
  : unknown extends T
    ? true
    : [T] extends [JsonPrimitive]
      ? true
      : [T] extends [NotJson]
        ? false
        : false extends (T extends unknown ? IsJsonMember<T, D> : never)
          ? false
          : true

type IsJsonMember<T, D extends number> = T extends JsonPrimitive
  ? true
  : T extends NotJson
    ? false
    : T extends readonly (infer E)[]
      ? undefined extends E
        ? unknown extends E
          ? true
          : false
        : IsJson<E, Depth[D]>
      : T extends object
        ? false extends {
            [K in keyof T]-?: K extends symbol ? false : IsJson<Exclude<T[K], undefined>, Depth[D]>
          }[keyof T]
          ? false
          : true
        : false

export interface NotJsonIssue {
  /** Where in the value, as `output.items[2].at`. */
  path: string
  /** What was found there, e.g. `a function`, `a Date`, `NaN`. */
  found: string
}

/**
 * Finds the first place where `value` is not plain JSON, or `undefined` when it is.
 * Runs on every task output before it is stored, so plain-JS callers get the same rule as the types.
 */
export function findNotJson(value: unknown, path = 'output'): NotJsonIssue | undefined {
  const seen = new Set<object>()
  const visit = (v: unknown, p: string): NotJsonIssue | undefined => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return undefined
      case 'number':
        return Number.isFinite(v) ? undefined : { path: p, found: String(v) }
      case 'bigint':
        return { path: p, found: 'a bigint' }
      case 'symbol':
        return { path: p, found: 'a symbol' }
      case 'function':
        return { path: p, found: 'a function' }
      case 'undefined':
        return { path: p, found: 'undefined' }
    }
    if (v === null) return undefined
    const obj = v as object
    if (seen.has(obj)) return { path: p, found: 'a circular reference' }
    const proto = Object.getPrototypeOf(obj)
    if (Array.isArray(obj)) {
      seen.add(obj)
      for (let i = 0; i < obj.length; i++) {
        const issue = visit(obj[i], `${p}[${i}]`)
        if (issue) return issue
      }
      seen.delete(obj)
      return undefined
    }
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto?.constructor as { name?: string } | undefined)?.name ?? 'object'
      return { path: p, found: `a ${name} instance` }
    }
    seen.add(obj)
    for (const [k, child] of Object.entries(obj)) {
      // JSON drops undefined members; that matches an optional member's type, so it is allowed.
      if (child === undefined) continue
      const issue = visit(child, /^[A-Za-z_$][\w$]*$/.test(k) ? `${p}.${k}` : `${p}[${JSON.stringify(k)}]`)
      if (issue) return issue
    }
    seen.delete(obj)
    return undefined
  }
  return visit(value, path)
}

/** Thrown when a task's output (or any value that must be stored) is not JSON. */
export class NotJsonError extends Error {
  override readonly name = 'NotJsonError'
  constructor(
    readonly task: string,
    readonly issue: NotJsonIssue,
  ) {
    super(
      `task "${task}" returned a value that is not JSON: ${issue.path} is ${issue.found}. ` +
        'Return plain objects, arrays, strings, finite numbers, booleans or null ' +
        '(convert a Date with .toISOString(), a Map with Object.fromEntries(), a bigint with String()).',
    )
  }
}

/** Throws {@link NotJsonError} unless `value` is plain JSON. */
export function assertJson(task: string, value: unknown): asserts value is JsonValue {
  const issue = findNotJson(value)
  if (issue) throw new NotJsonError(task, issue)
}
