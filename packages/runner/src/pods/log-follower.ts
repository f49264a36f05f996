import { Writable } from 'node:stream'
import { delay, sleep } from './abortable.js'
import { callApi } from './api-call.js'
import type { KubeClient } from './kube-client.js'
import { createLineSplitter, type LineSplitter } from './line-splitter.js'
import { LogResume, type Reread } from './log-resume.js'
import type { LogStreams } from './log-streams.js'

export interface LogFollowerOptions {
  readonly namespace: string
  readonly pod: string
  readonly container: string
  readonly onLine: (line: string) => void
  readonly signal: AbortSignal
  /** How many last lines to keep for failure messages. */
  readonly keepLines?: number
  /** The executor's limit on open log streams: without a free one the log is read once the container ended. */
  readonly streams?: LogStreams | undefined
  /** Told what the end-of-container read could not store (its tail cap was reached). */
  readonly onNotice?: (message: string) => void
}

// After the container ended, how long the open stream may take to deliver its tail before a catch-up read.
const DRAIN_MS = 5000
const MAX_RECONNECTS = 20
const CLEAN_END_GRACE_MS = 2000
// A streamed log shorter than this is not checked for a rotation: kubelets rotate at containerLogMaxSize
// (10 MiB by default), so a smaller log was not rotated and the check's request is saved.
const ROTATION_CHECK_BYTES = 1024 * 1024
/** Lines read at the end of a container that never got a stream. */
export const DEFAULT_TAIL_LINES = 10_000

/**
 * Streams one container's log (follow) line by line. When the stream drops while the container still
 * runs (a network cut, the kubelet rotating the file), it reconnects and places the re-read after the
 * lines already delivered (log-resume.ts), so no line is lost or repeated. With `streams`, it streams
 * only once one of the executor's stream slots is free; a container that ends before that has its log
 * read once, its last `tailLines` lines.
 */
export class LogFollower {
  private readonly resume = new LogResume()
  private firstLine: string | undefined
  private deliveredBytes = 0
  private tail: string[] = []
  private streamed = false
  private stopped = false
  private slotWait: Promise<unknown> = Promise.resolve()
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
    // A follower still waiting for a stream slot gives up at once now that the container ended.
    await this.slotWait
    if (!this.streamed) {
      await this.readAtEnd().catch(() => {})
      return
    }
    const drain = delay(DRAIN_MS)
    await Promise.race([this.loop, drain.promise])
    drain.cancel()
    this.current?.controller?.abort()
    if (this.lastEnd !== 'clean') await this.catchUp().catch(() => {})
    await this.noticeRotation().catch(() => {})
  }

  stop(): void {
    this.stopped = true
    this.containerEnded = true
    this.markEnded()
    this.current?.controller?.abort()
  }

  private async run(): Promise<void> {
    const streams = this.options.streams
    const acquired = streams ? streams.acquire(this.ended) : Promise.resolve(() => {})
    this.slotWait = acquired
    const release = await acquired
    if (!release) return
    try {
      this.streamed = true
      await this.stream()
    } finally {
      release()
    }
  }

  private async stream(): Promise<void> {
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
    // One splitter per stream: a new stream starts at a line boundary, so the old one's cut line is dropped
    // (the re-read delivers it whole).
    const reread = this.resume.reread()
    const lines = this.splitter(reread)
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
        for (const line of reread.end()) this.emit(line)
        settle('clean')
        callback()
      },
    })
    sink.on('error', () => settle('error'))
    this.current = { ended }
    try {
      const { namespace, pod, container } = this.options
      const controller = await this.kube.log.log(namespace, pod, container, sink, { follow: true })
      this.current.controller = controller
      // An aborted request does not always end the sink: the stream (and its slot) must end anyway.
      if (controller.signal.aborted) settle('error')
      else controller.signal.addEventListener('abort', () => settle('error'), { once: true })
      // Stopped while the request was being made: it has nothing left to deliver.
      if (this.stopped) controller.abort()
    } catch {
      settle('error')
    }
    return ended
  }

  private splitter(reread: Reread): LineSplitter {
    return createLineSplitter((line) => {
      for (const fresh of reread.push(line)) this.emit(fresh)
    })
  }

  private emit(line: string): void {
    this.resume.record(line)
    this.firstLine ??= line
    this.deliveredBytes += line.length + 1
    this.tail.push(line)
    if (this.tail.length > (this.options.keepLines ?? 20)) this.tail.shift()
    this.options.onLine(line)
  }

  private async catchUp(): Promise<void> {
    const { namespace, pod, container } = this.options
    const text = await callApi(`read the log of ${namespace}/${pod}`, () =>
      this.kube.core.readNamespacedPodLog({ name: pod, namespace, container }),
    )
    this.deliverRead(text)
  }

  /**
   * Says so in the task's log when the kubelet rotated the file during the stream: its follow stream
   * moves to the new file without reading the rotated one to its end, and the runtime may cut the line
   * it was writing in two (kubernetes/kubernetes#81132), so lines written at that moment can be missing
   * and no API serves the rotated file. Seen as a current file that no longer begins where the log began.
   */
  private async noticeRotation(): Promise<void> {
    const first = this.firstLine
    if (first === undefined || this.deliveredBytes < ROTATION_CHECK_BYTES) return
    const { namespace, pod, container } = this.options
    const head = await callApi(`read the log of ${namespace}/${pod}`, () =>
      this.kube.core.readNamespacedPodLog({
        name: pod,
        namespace,
        container,
        limitBytes: 4 * first.length + 64,
      }),
    )
    const firstNow = head.split('\n', 1)[0]
    if (firstNow === first) return
    this.options.onNotice?.(
      `the kubelet rotated the log of container ${container} while it was streamed: lines written at the moment of a rotation can be missing from this log, because Kubernetes' log stream does not read a rotated file to its end (kubernetes/kubernetes#81132); raise the kubelet's containerLogMaxSize, or write bulky output to a file or a result instead of the log`,
    )
  }

  /** The log of a container that never got a stream: its last lines, capped, read once. */
  private async readAtEnd(): Promise<void> {
    const { namespace, pod, container } = this.options
    const tailLines = this.options.streams?.tailLines ?? DEFAULT_TAIL_LINES
    const text = await callApi(`read the log of ${namespace}/${pod}`, () =>
      this.kube.core.readNamespacedPodLog({ name: pod, namespace, container, tailLines }),
    )
    const count = this.deliverRead(text)
    if (count >= tailLines)
      this.options.onNotice?.(
        `the log of container ${container} was read when it ended, its last ${tailLines} lines only (earlier lines are in the pod's log while the pod exists); raise logTailLines or logStreams to store more`,
      )
  }

  /** Delivers what a one-shot read returned after what was already delivered; returns its line count. */
  private deliverRead(text: string): number {
    const read: string[] = []
    const lines = createLineSplitter((line) => read.push(line))
    lines.push(text)
    lines.flush()
    for (const line of this.resume.newLinesOfRead(read)) this.emit(line)
    return read.length
  }
}
