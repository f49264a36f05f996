import type { TaskRow } from '../api.js'
import { colourOf } from '../states.js'

/**
 * The run as a timeline (a Gantt chart): one bar per task from its start to its end (or now), on
 * the run's time axis. Drawn with plain elements: a chart library would add more code than the
 * dozen lines a row of positioned bars needs.
 */
export function RunTimeline({
  tasks,
  runStart,
  now,
  onSelect,
}: {
  tasks: readonly Pick<TaskRow, 'task' | 'state' | 'startedAt' | 'finishedAt'>[]
  runStart: string | Date | null
  now: number
  onSelect: (task: string) => void
}) {
  const time = (t: string | Date | null) => (t === null ? undefined : new Date(t).getTime())
  const started = tasks.filter((t) => t.startedAt !== null)
  if (started.length === 0) return null
  const from = Math.min(time(runStart) ?? now, ...started.map((t) => time(t.startedAt) ?? now))
  const to = Math.max(from + 1, ...started.map((t) => time(t.finishedAt) ?? now))
  const at = (ms: number) => `${(((ms - from) / (to - from)) * 100).toFixed(2)}%`
  return (
    <div className="timeline" data-testid="timeline">
      <div className="timeline-axis">
        <span>0 s</span>
        <span>{((to - from) / 1000).toFixed(1)} s</span>
      </div>
      {started.map((t) => {
        const start = time(t.startedAt) ?? from
        const end = time(t.finishedAt) ?? now
        return (
          <button
            type="button"
            key={t.task}
            className="timeline-row"
            onClick={() => onSelect(t.task)}
            data-testid={`timeline-${t.task}`}
          >
            <span className="timeline-name">{t.task}</span>
            <span className="timeline-track">
              <span
                className="timeline-bar"
                style={{
                  // A bar of an instant still shows, and never runs past the track's end.
                  left: `min(${at(start)}, calc(100% - 2px))`,
                  width: `max(2px, calc(${at(end)} - ${at(start)}))`,
                  background: colourOf(t.state),
                }}
                title={`${t.task}: ${((end - start) / 1000).toFixed(2)} s, ${t.state}`}
              />
            </span>
          </button>
        )
      })}
    </div>
  )
}
