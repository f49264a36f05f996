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
})
