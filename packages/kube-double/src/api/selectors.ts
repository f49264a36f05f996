import { ApiError, statuses } from './api-error.js'

/** A parsed selector: a conjunction of requirements, each a predicate on a key's value (or absence). */
export type Selector = (lookup: (key: string) => string | undefined) => boolean

/**
 * Parses a label selector with the API's grammar: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k` and `!k`, comma-separated. Hand-written because client libraries only build
 * selectors; none parses them.
 */
export function parseLabelSelector(selector: string | null): Selector {
  const requirements = splitTopLevel(selector ?? '').map(parseLabelRequirement)
  return (lookup) => requirements.every((matches) => matches(lookup))
}

function parseLabelRequirement(text: string): Selector {
  const setMatch = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text)
  if (setMatch) {
    const [, key = '', op, list = ''] = setMatch
    const values = new Set(list.split(',').map((v) => v.trim()))
    return op === 'in'
      ? (lookup) => values.has(lookup(key) ?? '\0absent')
      : (lookup) => !values.has(lookup(key) ?? '\0absent')
  }
  const eqMatch = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(text)
  if (eqMatch) {
    const [, key = '', op, value] = eqMatch
    return op === '!=' ? (lookup) => lookup(key) !== value : (lookup) => lookup(key) === value
  }
  const existsMatch = /^(!?)([A-Za-z0-9][-A-Za-z0-9_./]*)$/.exec(text)
  if (existsMatch) {
    const [, not, key = ''] = existsMatch
    return not ? (lookup) => lookup(key) === undefined : (lookup) => lookup(key) !== undefined
  }
  throw new ApiError(
    statuses.badRequest(
      `unable to parse requirement: found '${text}', expected: in, notin, =, ==, !=, gt, lt`,
    ),
  )
}

/**
 * Parses a field selector (`a=b`, `a==b`, `a!=b`, comma-separated) over the fields a resource
 * supports; an unsupported field is the API's 400.
 */
export function parseFieldSelector(selector: string | null, supported: readonly string[]): Selector {
  const requirements = splitTopLevel(selector ?? '').map((text) => {
    const match = /^([^!=]+)(==|=|!=)(.*)$/.exec(text)
    if (!match)
      throw new ApiError(statuses.badRequest(`invalid selector: '${selector}'; can't understand '${text}'`))
    const [, key = '', op, value] = match
    if (!supported.includes(key)) {
      throw new ApiError(statuses.badRequest(`field label not supported: ${key}`))
    }
    const matches: Selector =
      op === '!=' ? (lookup) => lookup(key) !== value : (lookup) => (lookup(key) ?? '') === value
    return matches
  })
  return (lookup) => requirements.every((matches) => matches(lookup))
}

function splitTopLevel(selector: string): string[] {
  const parts: string[] = []
  let depth = 0
  let current = ''
  for (const char of selector) {
    if (char === '(') depth++
    if (char === ')') depth--
    if (char === ',' && depth === 0) {
      parts.push(current)
      current = ''
    } else {
      current += char
    }
  }
  parts.push(current)
  return parts.map((p) => p.trim()).filter((p) => p.length > 0)
}
