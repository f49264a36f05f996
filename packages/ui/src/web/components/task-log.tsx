import { useLayoutEffect, useRef } from 'react'
import { atEnd, useTaskLog } from '../use-task-log.js'

const count = (n: number) => n.toLocaleString()

/**
 * A task's log: how many lines it has, one page of them with their numbers, and the moves to the
 * others; while the task runs, the end of it follows the new lines.
 */
export function TaskLog({ runId, task, live }: { runId: string; task: string; live: boolean }) {
  const { view, following, move } = useTaskLog(runId, task, live)
  const box = useRef<HTMLPreElement>(null)
  // Whether the reader is at the bottom of the box: a followed log keeps them there, unless they scrolled up.
  const atBottom = useRef(true)
  useLayoutEffect(() => {
    if (view && following && atBottom.current && box.current) box.current.scrollTop = box.current.scrollHeight
  }, [view, following])
  const lines = view?.lines ?? []
  const offset = view?.offset ?? 0
  const total = view?.total ?? 0
  return (
    <>
      <h3>
        Log
        {view && (
          <span className="count" data-testid="log-count">
            {' '}
            · {count(total)} {total === 1 ? 'line' : 'lines'}
          </span>
        )}
        {live && <span className="tail"> (live)</span>}
      </h3>
      {/* Moves only when not every line is on screen. */}
      {view && total > lines.length && (
        <nav className="log-pages" aria-label="log pages">
          <button type="button" disabled={offset === 0} onClick={() => move('first')} data-testid="log-first">
            First
          </button>
          <button
            type="button"
            disabled={offset === 0}
            onClick={() => move('earlier')}
            data-testid="log-earlier"
          >
            Earlier
          </button>
          <span data-testid="log-range">
            lines {count(offset + 1)}–{count(offset + lines.length)} of {count(total)}
          </span>
          <button type="button" disabled={atEnd(view)} onClick={() => move('later')} data-testid="log-later">
            Later
          </button>
          <button
            type="button"
            disabled={atEnd(view)}
            onClick={() => {
              atBottom.current = true
              void move('last')
            }}
            data-testid="log-last"
          >
            Last
          </button>
        </nav>
      )}
      {/* Text nodes only: React escapes what a task printed. */}
      <pre
        className="log"
        data-testid="task-log"
        ref={box}
        onScroll={(e) => {
          const el = e.currentTarget
          atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8
        }}
      >
        {lines.length === 0
          ? 'no log lines'
          : lines.map((l, i) => (
              <div key={l.id} className={`line ${l.level}`}>
                <span className="n">{offset + i + 1}</span>{' '}
                <span className="at">{new Date(l.at).toLocaleTimeString()}</span>{' '}
                <span className="lvl">{l.level}</span> <span className="msg">{l.message}</span>
                {l.fields ? ` ${JSON.stringify(l.fields)}` : ''}
              </div>
            ))}
      </pre>
    </>
  )
}
