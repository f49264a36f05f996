import type { TimedAttemptEvent } from '@podline/host'
import { formatDuration } from '@podline/runner'
import { firstLine } from './format.js'

/** An attempt event as `podline run` shows it: a retry carries how long until the next attempt. */
export type ProgressEvent = TimedAttemptEvent & { retryInMs?: number }

type Shown = 'pending' | 'running' | 'success' | 'failed' | 'retrying' | 'skipped' | 'cancelled'

interface Row {
  state: Shown
  attempt: number
  startedAt?: number
  durationMs?: number
  note?: string
}

const SYMBOL: Record<Shown, string> = {
  pending: '○',
  running: '◌',
  retrying: '◌',
  success: '✓',
  failed: '✗',
  skipped: '↷',
  cancelled: '↷',
}

/** What a finished run's tasks ended as, from the store: tasks that never ran get no attempt event. */
export interface FinalTask {
  task: string
  state: string
}

/** Live progress of `podline run`: a redrawn list on a terminal, one plain line per change elsewhere. */
export interface Progress {
  onAttempt(event: ProgressEvent): void
  finish(tasks: readonly FinalTask[]): void
}

/** `safe` prints the text tasks produced (their errors): escaped unless `--raw`. */
export function createProgress(
  tasks: readonly string[],
  safe: (text: string) => string,
  out: NodeJS.WriteStream = process.stderr,
): Progress {
  const rows = new Map<string, Row>(tasks.map((t) => [t, { state: 'pending', attempt: 0 }]))
  const show = (event: ProgressEvent): ProgressEvent =>
    event.type === 'finished' && event.error !== undefined ? { ...event, error: safe(event.error) } : event
  const progress = out.isTTY ? new TtyProgress(rows, out) : new PlainProgress(rows, out)
  return {
    onAttempt: (event) => progress.onAttempt(show(event)),
    finish: (final) => progress.finish(final),
  }
}

const retryIn = (event: ProgressEvent) =>
  event.retryInMs === undefined ? '' : `, retrying in ${formatDuration(Math.max(0, event.retryInMs))}`

function apply(row: Row, event: ProgressEvent): void {
  row.attempt = event.attempt
  if (event.type === 'started') {
    row.state = 'running'
    row.startedAt = performance.now()
    delete row.note
    return
  }
  if (event.durationMs !== undefined) row.durationMs = event.durationMs
  switch (event.state) {
    case 'success':
      row.state = 'success'
      break
    case 'skipped':
      row.state = 'skipped'
      break
    case 'failed':
      row.state = 'failed'
      row.note = firstLine(event.error)
      break
    case 'up_for_retry':
      row.state = 'retrying'
      row.note = `attempt ${event.attempt} failed${retryIn(event)}: ${firstLine(event.error)}`
      break
    case 'lost':
      row.state = 'cancelled'
      break
  }
}

/** Longest error a progress line shows: the run's summary, or `podline logs`, has all of it. */
const BRIEF_CHARS = 200

/** An error's first line, cut to BRIEF_CHARS: a long one is printed whole once, at the end. */
function brief(error: string): string {
  const line = firstLine(error)
  return line.length > BRIEF_CHARS ? `${line.slice(0, BRIEF_CHARS - 1).trimEnd()}…` : line
}

function finalState(state: string): Shown | undefined {
  if (state === 'skipped' || state === 'upstream_failed') return 'skipped'
  if (state === 'cancelled') return 'cancelled'
  if (state === 'success' || state === 'failed') return state
  return undefined
}

class PlainProgress implements Progress {
  constructor(
    private readonly rows: Map<string, Row>,
    private readonly out: NodeJS.WritableStream,
  ) {}

  onAttempt(event: ProgressEvent): void {
    const row = this.rows.get(event.task)
    if (!row) return
    // A mapped task's own attempt only lists its items: the items report themselves.
    if (event.type === 'finished' && event.state === 'expanded') return
    apply(row, event)
    const name = event.mapIndex === undefined ? event.task : `${event.task}[${event.mapIndex}]`
    const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : ''
    const took = (word: string) =>
      event.type === 'finished' && event.durationMs !== undefined
        ? ` ${word} ${formatDuration(event.durationMs)}`
        : ''
    const error = event.type === 'finished' && event.error ? `: ${brief(event.error)}` : ''
    const words: Record<Shown, string> = {
      pending: 'pending',
      running: 'started',
      success: `succeeded${took('in')}`,
      failed: `failed${took('after')}${error}`,
      // The attempt's own duration is not the delay: say both, each for what it is.
      retrying: `failed${took('after')}${retryIn(event)}${error}`,
      skipped: `skipped${took('after')}`,
      cancelled: 'was cancelled',
    }
    this.out.write(`task ${name}${attempt} ${words[row.state]}\n`)
  }

  finish(tasks: readonly FinalTask[]): void {
    for (const t of tasks) {
      const row = this.rows.get(t.task)
      const state = finalState(t.state)
      // Only tasks that never started need a line: the others reported their own end.
      if (row && state && row.state === 'pending')
        this.out.write(`task ${t.task} ${t.state.replace('_', ' ')}\n`)
    }
  }
}

class TtyProgress implements Progress {
  #drawn = 0
  readonly #timer: NodeJS.Timeout

  constructor(
    private readonly rows: Map<string, Row>,
    private readonly out: NodeJS.WriteStream,
  ) {
    // Running tasks show a ticking duration, so redraw a few times a second while the run lasts.
    this.#timer = setInterval(() => this.#draw(), 100)
    this.#timer.unref()
    this.#draw()
  }

  onAttempt(event: ProgressEvent): void {
    const row = this.rows.get(event.task)
    if (!row) return
    apply(row, event)
    this.#draw()
  }

  finish(tasks: readonly FinalTask[]): void {
    clearInterval(this.#timer)
    for (const t of tasks) {
      const row = this.rows.get(t.task)
      const state = finalState(t.state)
      if (row && state && (row.state === 'pending' || row.state === 'running' || row.state === 'retrying')) {
        row.state = state
        if (t.state === 'upstream_failed') row.note = 'an upstream task failed'
      }
    }
    this.#draw()
  }

  #draw(): void {
    const width = Math.max(...[...this.rows.keys()].map((k) => k.length))
    const lines = [...this.rows].map(([task, row]) => {
      const ms =
        row.state === 'running' && row.startedAt !== undefined
          ? performance.now() - row.startedAt
          : row.durationMs
      const time =
        row.state === 'pending' || row.state === 'skipped' || ms === undefined ? '' : formatDuration(ms)
      const attempt = row.attempt > 1 ? ` #${row.attempt}` : ''
      const note = row.note ? `  ${row.note}` : ''
      const columns = this.out.columns || 100
      return `${SYMBOL[row.state]} ${task.padEnd(width)}${attempt}  ${time}${note}`.slice(0, columns - 1)
    })
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : ''
    this.out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`)
    this.#drawn = lines.length
  }
}
