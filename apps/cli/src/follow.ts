/** What the following verbs (`trigger --wait`, `logs -f`, `status --watch`) share. */
import type { RunEvent, TaskLogLine } from '@podline/runner'
import type { ProgressEvent } from './progress.js'

/** A run's exit status once it has ended: 0 only when it succeeded. */
export const exitCodeOf = (state: string): number => (state === 'success' ? 0 : 1)

/**
 * The attempt events `podline run` gets from its worker, rebuilt from a run's stored transitions, so
 * `trigger --wait` shows the same progress. Durations come from the events' database times.
 */
export function progressEvents(pipeline: string): (event: RunEvent) => ProgressEvent | undefined {
  const started = new Map<string, number>()
  return (e) => {
    if (e.task === null || e.attempt === null) return undefined
    const key = `${e.task}\0${e.attempt}`
    const base = { runId: e.runId, pipeline, task: e.task, attempt: e.attempt }
    if (e.toState === 'running') {
      // A takeover continues the attempt already shown as started.
      if (started.has(key)) return undefined
      started.set(key, new Date(e.createdAt).getTime())
      return { type: 'started', ...base }
    }
    if (e.fromState !== 'running') return undefined
    const state =
      e.toState === 'cancelled'
        ? 'lost'
        : e.toState === 'success' ||
            e.toState === 'failed' ||
            e.toState === 'up_for_retry' ||
            e.toState === 'skipped'
          ? e.toState
          : undefined
    if (state === undefined) return undefined
    const at = started.get(key)
    started.delete(key)
    return {
      type: 'finished',
      ...base,
      state,
      ...(e.message && state !== 'skipped' ? { error: e.message } : {}),
      ...(at === undefined ? {} : { durationMs: new Date(e.createdAt).getTime() - at }),
    }
  }
}

/** One stored log line as `podline logs` prints it; `safe` escapes what the task wrote. */
export function formatLogLine(line: TaskLogLine, safe: (text: string) => string): string {
  const fields = line.fields && Object.keys(line.fields).length ? ` ${JSON.stringify(line.fields)}` : ''
  // An item of a mapped task is named by its index: count[3]#1.
  const task = line.mapIndex >= 0 ? `${line.task}[${line.mapIndex}]` : line.task
  return `${new Date(line.createdAt).toISOString()} ${task}#${line.attempt} ${line.level.toUpperCase().padEnd(5)} ${safe(line.message + fields)}`
}

/** One transition as `status --watch` prints it when it cannot redraw. */
export function formatEvent(e: RunEvent, safe: (text: string) => string): string {
  const who =
    e.task === null ? 'run' : `${e.task}${e.mapIndex === null ? '' : `[${e.mapIndex}]`}#${e.attempt}`
  const message = e.message ? `: ${safe(e.message.split('\n')[0] ?? '')}` : ''
  return `${new Date(e.createdAt).toISOString()} ${who} ${e.fromState ?? '-'} → ${e.toState}${message}`
}
