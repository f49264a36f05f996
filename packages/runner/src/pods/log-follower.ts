import { Writable } from 'node:stream'
import { delay, sleep } from './abortable.js'
import { callApi } from './api-call.js'
import type { KubeClient } from './kube-client.js'
import { createLineSplitter, type LineSplitter } from './line-splitter.js'

export interface LogFollowerOptions {
  readonly namespace: string
  readonly pod: string
  readonly container: string
  readonly onLine: (line: string) => void
  readonly signal: AbortSignal
  /** How many last lines to keep for failure messages. */
  readonly keepLines?: number
}

// After the container ended, how long the open stream may take to deliver its tail before a catch-up read.
const DRAIN_MS = 5000
const MAX_RECONNECTS = 20
const CLEAN_END_GRACE_MS = 2000

/**
 * Streams one container's log (follow) line by line. When the stream drops while the container still
 * runs, it reconnects and skips the lines already delivered (the API has no line cursor, and
 * `sinceTime` has a one-second grain), so no line is lost or repeated.
 */
export class LogFollower {
  private delivered = 0
  private skip = 0
  private tail: string[] = []
  private containerEnded = false
  private current: { controller?: AbortController; ended: Promise<'clean' | 'error'> } | undefined
  private loop: Promise<void> | undefined
  private lastEnd: 'clean' | 'error' = 'error'
  private markEnded: () => void = () => {}
  private readonly ended = new Promise<void>((resolve) => {
    this.markEnded = resolve
  })

  constructor(
    private readonly kube: KubeClient,
    private readonly options: LogFollowerOptions,
  ) {}

  start(): void {
    this.loop ??= this.run()
  }

  /** The last lines seen, for the message of a failed task. */
  lastLines(): string[] {
    return [...this.tail]
  }

  /**
   * Call once the container has terminated: waits for the stream to deliver the rest, and reads the
   * log once more if it did not end cleanly.
   */
  async finish(): Promise<void> {
    this.containerEnded = true
    this.markEnded()
    if (!this.loop) return
    const drain = delay(DRAIN_MS)
    await Promise.race([this.loop, drain.promise])
    drain.cancel()
    this.current?.controller?.abort()
    if (this.lastEnd !== 'clean') await this.catchUp().catch(() => {})
  }

  stop(): void {
    this.containerEnded = true
    this.markEnded()
    this.current?.controller?.abort()
  }

  private async run(): Promise<void> {
    for (let reconnects = 0; reconnects <= MAX_RECONNECTS && !this.options.signal.aborted; reconnects++) {
      this.lastEnd = await this.follow()
      // A clean end almost always means the container ended, which the watch reports a moment
      // later: wait for that rather than open a stream that would only re-read the log.
      if (this.lastEnd === 'clean') {
        const grace = delay(CLEAN_END_GRACE_MS)
        await Promise.race([this.ended, grace.promise])
        grace.cancel()
      }
      if (this.containerEnded) return
      await sleep(Math.min(2000, 100 * 2 ** reconnects), this.options.signal).catch(() => {})
    }
  }

  private async follow(): Promise<'clean' | 'error'> {
    this.skip = this.delivered
    // One splitter per stream: a new stream starts at a line boundary, so the old one's cut line is dropped
    // (the skip count re-reads it whole).
    const lines = this.splitter()
    let settle: (how: 'clean' | 'error') => void = () => {}
    const ended = new Promise<'clean' | 'error'>((resolve) => {
      settle = resolve
    })
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        lines.push(chunk)
        callback()
      },
      final: (callback) => {
        lines.flush()
        settle('clean')
        callback()
      },
    })
    sink.on('error', () => settle('error'))
    this.current = { ended }
    try {
      const { namespace, pod, container } = this.options
      this.current.controller = await this.kube.log.log(namespace, pod, container, sink, { follow: true })
    } catch {
      settle('error')
    }
    return ended
  }

  private splitter(): LineSplitter {
    return createLineSplitter((line) => this.emit(line))
  }

  private emit(line: string): void {
    if (this.skip > 0) {
      this.skip--
      return
    }
    this.delivered++
    this.tail.push(line)
    if (this.tail.length > (this.options.keepLines ?? 20)) this.tail.shift()
    this.options.onLine(line)
  }

  private async catchUp(): Promise<void> {
    const { namespace, pod, container } = this.options
    const text = await callApi(`read the log of ${namespace}/${pod}`, () =>
      this.kube.core.readNamespacedPodLog({ name: pod, namespace, container }),
    )
    this.skip = this.delivered
    const lines = this.splitter()
    lines.push(text)
    lines.flush()
  }
}
