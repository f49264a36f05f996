import { OPEN_TASK_STATES, type RunState, type TaskState } from '@podline/runner/states'

/** A colour for every state: typed against the runner's lists, so a new state must be given one. */
export const STATE_COLOURS: Record<TaskState | RunState, string> = {
  pending: '#9ca3af',
  queued: '#60a5fa',
  running: '#f59e0b',
  success: '#22c55e',
  failed: '#ef4444',
  up_for_retry: '#f97316',
  skipped: '#d1d5db',
  upstream_failed: '#fca5a5',
  cancelled: '#a78bfa',
}

/** Run states are task states too ('queued', 'running'): one list answers for both. */
export const isOpen = (state: string) => (OPEN_TASK_STATES as readonly string[]).includes(state)

export const colourOf = (state: string) => STATE_COLOURS[state as TaskState] ?? '#9ca3af'

/** A duration for a person: 850ms, 12.3s, 4m 05s, 2h 10m. */
export function duration(from: string | null, to: string | null, now = Date.now()): string {
  if (!from) return ''
  const ms = (to ? Date.parse(to) : now) - Date.parse(from)
  if (ms < 1000) return `${ms}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const s = Math.floor(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
}

export const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '')
