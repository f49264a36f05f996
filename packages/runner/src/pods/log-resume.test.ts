import { describe, expect, it } from 'vitest'
import { LogResume } from './log-resume.js'

/** Delivers `before`, then places a re-read of `reread`: what it yields as new. */
function resumeAfter(before: string[], reread: string[]): string[] {
  const resume = new LogResume()
  for (const line of before) resume.record(line)
  const placement = resume.reread()
  return [...reread.flatMap((line) => placement.push(line)), ...placement.end()]
}

describe('where a re-read log resumes', () => {
  it('skips the whole log when nothing was rotated', () => {
    expect(resumeAfter(['a', 'b', 'a'], ['a', 'b', 'a', 'c', 'd'])).toEqual(['c', 'd'])
  })

  it('after a rotation, keeps what the new file adds past the lines already delivered', () => {
    expect(resumeAfter(['a', 'b', 'c'], ['b', 'c', 'd'])).toEqual(['d'])
    expect(resumeAfter(['a', 'b', 'a'], ['a', 'c'])).toEqual(['c'])
    expect(resumeAfter(['a', 'b'], ['c', 'd'])).toEqual(['c', 'd'])
  })

  it('does not mistake a new line equal to the first one for the start of the old file', () => {
    expect(resumeAfter(['x', 'y'], ['x', 'z'])).toEqual(['x', 'z'])
  })

  it('takes a re-read shorter than what was delivered for a new file (the same file is never shorter)', () => {
    expect(resumeAfter(['a', 'b', 'c'], ['a', 'b'])).toEqual(['a', 'b'])
    expect(resumeAfter([], ['a'])).toEqual(['a'])
  })

  describe('a one-shot read of the current file (the catch-up after the container ended)', () => {
    const read = (before: string[], file: string[]) => {
      const resume = new LogResume()
      for (const line of before) resume.record(line)
      return resume.newLinesOfRead(file)
    }
    const numbered = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`)

    it('places it as a re-read does when it starts within what was delivered', () => {
      expect(read(['a', 'b', 'c'], ['b', 'c', 'd'])).toEqual(['d'])
      expect(read(['a', 'b', 'a'], ['a', 'b', 'a', 'c'])).toEqual(['c'])
      expect(read(['x', 'y'], ['x', 'z'])).toEqual(['x', 'z'])
      expect(read([], ['a'])).toEqual(['a'])
    })

    it('stores no line twice when the stream lacked the first lines of the rotated-to file', () => {
      // The stream lost 101-120 at a rotation; the file after it begins at 101 and ends past 400.
      const delivered = [...numbered(1, 100), ...numbered(121, 400)]
      expect(read(delivered, numbered(101, 410))).toEqual(numbered(401, 410))
    })

    it('does not take a short run away from the start for the place', () => {
      expect(read(['a', 'done'], ['x', 'done', 'y'])).toEqual(['x', 'done', 'y'])
    })
  })
})
