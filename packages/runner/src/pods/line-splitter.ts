import { StringDecoder } from 'node:string_decoder'

export interface LineSplitter {
  /** Bytes as they arrive: a UTF-8 character cut between two chunks is kept whole. */
  push(chunk: Buffer | string): void
  /** Delivers the unterminated rest, if any, and starts over. */
  flush(): void
}

/**
 * Cuts a byte stream into lines (a trailing `\r` is dropped). Every line of a chunk is delivered even
 * when `onLine` throws for one of them; the first such error is rethrown once the chunk is done.
 */
export function createLineSplitter(onLine: (line: string) => void): LineSplitter {
  let decoder = new StringDecoder('utf8')
  let rest = ''
  const deliver = (lines: string[]) => {
    let failure: { error: unknown } | undefined
    for (const line of lines) {
      try {
        onLine(line.endsWith('\r') ? line.slice(0, -1) : line)
      } catch (error) {
        failure ??= { error }
      }
    }
    if (failure) throw failure.error
  }
  return {
    push(chunk) {
      const lines = (rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk))).split('\n')
      rest = lines.pop() ?? ''
      deliver(lines)
    },
    flush() {
      const last = rest + decoder.end()
      rest = ''
      decoder = new StringDecoder('utf8')
      if (last) deliver([last])
    },
  }
}
