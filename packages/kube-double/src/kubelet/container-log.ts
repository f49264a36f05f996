import { EventEmitter } from 'node:events'
import type { OutputStream } from '@podline/container-process'

interface LogLine {
  readonly time: string
  readonly data: Buffer
}

/** containerd's CRI logger cuts a line longer than this into partial entries. */
const MAX_LOG_LINE_BYTES = 16 * 1024

/**
 * One container's log, as the kubelet keeps it: readable while the container runs (follow) and after
 * it ended. As containerd's CRI logger does, each stream is read line by line: an entry is a whole
 * line (or a 16 KiB piece of a longer one, cut at the byte), so stdout and stderr interleave by
 * line, never inside one, and an unterminated line waits for its newline or the end of the stream.
 */
export class ContainerLog {
  private readonly chunks: LogLine[] = []
  private readonly emitter = new EventEmitter()
  private readonly pending: Record<OutputStream, Buffer> = {
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
  }
  ended = false

  append(data: Buffer, stream: OutputStream = 'stdout'): void {
    let rest = Buffer.concat([this.pending[stream], data])
    for (;;) {
      const newline = rest.indexOf(0x0a)
      const cut = newline !== -1 && newline < MAX_LOG_LINE_BYTES ? newline + 1 : MAX_LOG_LINE_BYTES
      if (newline === -1 && rest.length < MAX_LOG_LINE_BYTES) break
      this.entry(rest.subarray(0, cut))
      rest = rest.subarray(cut)
    }
    this.pending[stream] = rest
  }

  end(): void {
    if (this.ended) return
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.pending[stream].length > 0) this.entry(this.pending[stream])
      this.pending[stream] = Buffer.alloc(0)
    }
    this.ended = true
    this.emitter.emit('end')
  }

  private entry(data: Buffer): void {
    const chunk = { time: new Date().toISOString(), data: Buffer.from(data) }
    this.chunks.push(chunk)
    this.emitter.emit('chunk', chunk)
  }

  /** The log so far, limited to the last `tailLines` lines, with RFC 3339 timestamps if asked. */
  read(options: { tailLines?: number; timestamps?: boolean }): Buffer {
    let text = Buffer.concat(this.chunks.map((c) => (options.timestamps ? stamp(c) : c.data)))
    if (options.tailLines !== undefined) {
      const lines = text.toString('utf8').split(/(?<=\n)/)
      text = Buffer.from(options.tailLines === 0 ? '' : lines.slice(-options.tailLines).join(''))
    }
    return text
  }

  /**
   * The kubelet's log rotation: the current file is renamed away and a new one begins, so a read from
   * now on serves only what is written after. An open follow stream goes on into the new file, as
   * the kubelet's follower does (it reopens the file when the runtime recreates it): it neither ends
   * nor loses a line. `faults.dropLogStreams()` is what ends streams.
   */
  rotate(): void {
    this.chunks.length = 0
  }

  /** Calls `onChunk` for every later chunk until the container ends; returns an unsubscribe. */
  follow(onChunk: (data: Buffer) => void, onEnd: () => void, timestamps = false): () => void {
    const chunkListener = (chunk: LogLine): void => onChunk(timestamps ? stamp(chunk) : chunk.data)
    this.emitter.on('chunk', chunkListener)
    this.emitter.once('end', onEnd)
    return () => {
      this.emitter.off('chunk', chunkListener)
      this.emitter.off('end', onEnd)
    }
  }
}

function stamp(chunk: LogLine): Buffer {
  return Buffer.from(
    chunk.data
      .toString('utf8')
      .split(/(?<=\n)/)
      .map((line) => `${chunk.time} ${line}`)
      .join(''),
  )
}
