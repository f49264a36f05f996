/** Cuts a byte stream into lines; `flush` returns the unterminated rest, if any. */
export function createLineSplitter(onLine: (line: string) => void): {
  push(chunk: Buffer): void
  flush(): void
} {
  let rest = ''
  return {
    push(chunk) {
      const lines = (rest + chunk.toString('utf8')).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) onLine(line.endsWith('\r') ? line.slice(0, -1) : line)
    },
    flush() {
      if (rest) onLine(rest)
      rest = ''
    },
  }
}
