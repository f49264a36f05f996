import { EventEmitter } from 'node:events'

interface LogLine {
  readonly time: string
  readonly data: Buffer
}

/**
 * One container's log, as the kubelet keeps it: both streams interleaved in arrival order, readable
 * while the container runs (follow) and after it ended.
 */
export class ContainerLog {
  private readonly chunks: LogLine[] = []
  private readonly emitter = new EventEmitter()
  ended = false

  append(data: Buffer): void {
    const chunk = { time: new Date().toISOString(), data }
    this.chunks.push(chunk)
    this.emitter.emit('chunk', chunk)
  }

  end(): void {
    if (this.ended) return
    this.ended = true
    this.emitter.emit('end')
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
