import { LOG_PAGE, type LogPosition } from '@podline/runner'

/** GET …/logs' query, as a URL gives it: the first page, or the one after or before a line, or the last. */
export interface LogsQuery {
  /** Line ids, checked to be ones. */
  after?: string
  before?: string
  /** Any value: the last page. */
  last?: string
  limit?: number
}

/** The largest id PostgreSQL's bigint holds: a log line id past it is no line's. */
const MAX_LINE_ID = 2n ** 63n - 1n

/** The query checked, or why it is refused. */
export function checkLogsQuery(q: Record<string, string | string[]>): LogsQuery | { error: string } {
  const given = (['after', 'before', 'last'] as const).filter((k) => q[k] !== undefined)
  if (given.length > 1) return { error: `ask for one of after, before and last, not ${given.join(' and ')}` }
  const limit = q.limit === undefined ? LOG_PAGE : Number(q.limit)
  if (!Number.isInteger(limit) || limit < 0 || limit > LOG_PAGE)
    return { error: `limit=${String(q.limit)} is not a whole number from 0 to ${LOG_PAGE}` }
  const key = given[0]
  if (key === undefined) return { limit }
  if (key === 'last') return { last: '1', limit }
  const value = q[key]
  if (typeof value !== 'string' || !/^\d{1,19}$/.test(value) || BigInt(value) > MAX_LINE_ID)
    return { error: `${key}=${String(value)} is not a log line id` }
  return { [key]: value, limit }
}

export function logPosition(query: LogsQuery): LogPosition {
  if (query.after !== undefined) return { after: BigInt(query.after) }
  if (query.before !== undefined) return { before: BigInt(query.before) }
  return { at: query.last === undefined ? 'start' : 'end' }
}
