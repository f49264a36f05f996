import { useCallback, useEffect, useRef, useState } from 'react'
import { api, type LogLine, ok } from './api.js'

/** How often a running task's log is read: log lines have no notification. */
const TAIL_MS = 1000
/** Lines one page shows, and the most the followed tail keeps: the API's largest page. */
export const LOG_PAGE = 5000

export interface LogView {
  lines: LogLine[]
  /** How many lines the task has logged. */
  total: number
  /** How many come before the first shown. */
  offset: number
}

export type LogMove = 'first' | 'earlier' | 'later' | 'last'

type Query = { after: string } | { before: string } | { last: '1' } | Record<string, never>

export const atEnd = (v: LogView) => v.offset + v.lines.length >= v.total

/** The page a move asks for, from the view it moves from. */
function queryFor(to: LogMove, view: LogView | undefined): Query {
  const first = view?.lines[0]
  const last = view?.lines.at(-1)
  if (to === 'earlier' && first) return { before: first.id }
  if (to === 'later' && last) return { after: last.id }
  if (to === 'last') return { last: '1' }
  return {}
}

/** The view on screen, and whether it follows the log's end as lines come. */
interface Shown {
  view: LogView
  following: boolean
}

/**
 * A task's log, a page at a time, with how many lines it has. A running task's log is read again
 * every TAIL_MS: a view that was moved to the end follows the new lines (dropping the oldest past
 * one page); any other keeps its lines and only learns the new count.
 */
export function useTaskLog(runId: string, task: string, live: boolean) {
  const [view, setView] = useState<LogView>()
  const [following, setFollowing] = useState(false)
  // What reads build on; `moves` counts the reader's moves, so an answer to an older one is dropped.
  const shown = useRef<Shown | undefined>(undefined)
  const moves = useRef(0)
  /** A move's read is under way: the poll does not start another. */
  const reading = useRef(false)
  const liveRef = useRef(live)
  liveRef.current = live

  const show = useCallback((next: Shown | undefined) => {
    shown.current = next
    setView(next?.view)
    setFollowing(next?.following ?? false)
  }, [])

  const read = useCallback(
    (query: Query, limit = LOG_PAGE) =>
      ok(
        api.runs[':id'].tasks[':task'].logs.$get({ param: { id: runId, task }, query: { ...query, limit } }),
      ),
    [runId, task],
  )

  const move = useCallback(
    async (to: LogMove) => {
      const ticket = ++moves.current
      reading.current = true
      const page = await read(queryFor(to, shown.current?.view))
        .catch(() => undefined)
        .finally(() => {
          if (ticket === moves.current) reading.current = false
        })
      // The end moves on while the page is read: "last" follows it whatever the count says by now.
      if (page && ticket === moves.current) show({ view: page, following: to === 'last' || atEnd(page) })
    },
    [read, show],
  )

  // A running task opens at its end, which it then follows; an ended one at its first line.
  useEffect(() => {
    show(undefined)
    void move(liveRef.current ? 'last' : 'first')
  }, [move, show])

  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    async function poll() {
      const base = shown.current
      const ticket = moves.current
      // The first read failed (the server busy, a dropped connection): the log is read again, not left empty.
      if (!base && !reading.current) void move(liveRef.current ? 'last' : 'first')
      if (base) {
        const last = base.view.lines.at(-1)
        const query: Query = last ? { after: last.id } : {}
        const page = await read(query, base.following ? LOG_PAGE : 0).catch(() => undefined)
        // Applied only to the view it was read for: a move or a newer read replaced it otherwise.
        if (page && !stopped && shown.current === base && ticket === moves.current) {
          const lines = [...base.view.lines, ...page.lines]
          const dropped = Math.max(0, lines.length - LOG_PAGE)
          show({
            view: { lines: lines.slice(dropped), total: page.total, offset: base.view.offset + dropped },
            following: base.following,
          })
        }
      }
      if (!stopped && live) timer = setTimeout(poll, TAIL_MS)
    }
    // While the task runs, and once more when it has ended, for its last lines.
    void poll()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [live, read, show, move])

  return { view, following, move }
}
