import type { AttemptEvent } from '@podline/runner'

export type TimedAttemptEvent = AttemptEvent & { durationMs?: number }

/** Wraps an attempt listener so each `finished` event carries how long its attempt ran. */
export function timeAttempts(listener: (event: TimedAttemptEvent) => void): (event: AttemptEvent) => void {
  const started = new Map<string, number>()
  return (event) => {
    const key = `${event.runId}\0${event.task}\0${event.attempt}`
    if (event.type === 'started') {
      started.set(key, performance.now())
      return listener(event)
    }
    const at = started.get(key)
    started.delete(key)
    listener(at === undefined ? event : { ...event, durationMs: Math.round(performance.now() - at) })
  }
}
