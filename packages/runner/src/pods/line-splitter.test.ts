import { describe, expect, it } from 'vitest'
import { createLineSplitter } from './line-splitter.js'

function collect() {
  const lines: string[] = []
  return { lines, splitter: createLineSplitter((line) => lines.push(line)) }
}

describe('createLineSplitter', () => {
  it('keeps a multi-byte UTF-8 character whole when a chunk ends inside it', () => {
    const { lines, splitter } = collect()
    const bytes = Buffer.from('café ✓ 日本\n😀 end\n')
    // Every cut point, one byte at a time, the worst case of a stream's chunking.
    for (const byte of bytes) splitter.push(Buffer.from([byte]))
    splitter.flush()
    expect(lines).toEqual(['café ✓ 日本', '😀 end'])
  })

  it('delivers an unterminated last line, its cut character completed or replaced, on flush', () => {
    const { lines, splitter } = collect()
    const e = Buffer.from('é')
    splitter.push(Buffer.concat([Buffer.from('a\r\nlast '), e.subarray(0, 1)]))
    splitter.push(e.subarray(1))
    splitter.push(Buffer.from([0xe2, 0x9c])) // a cut-off ✓ that never gets its last byte
    splitter.flush()
    expect(lines).toEqual(['a', 'last é\uFFFD'])
  })

  it('one line whose delivery throws does not drop the other lines of its chunk', () => {
    const seen: string[] = []
    const splitter = createLineSplitter((line) => {
      if (line === 'bad') throw new Error('refused')
      seen.push(line)
    })
    expect(() => splitter.push(Buffer.from('one\nbad\nthree\n'))).toThrow('refused')
    splitter.push(Buffer.from('four\n'))
    expect(seen).toEqual(['one', 'three', 'four'])
  })
})
