/**
 * Where a re-read log resumes. The log API has no line cursor and `sinceTime` reads the node's clock
 * at a one-second grain, so a reconnecting reader gets the container's current log file from its
 * start: the whole log, or, after the kubelet rotated the file, only what was written since. Each
 * delivered line is kept as a 32-bit hash; the re-read's lines are held until they are placed: the
 * longest suffix of what was delivered that the re-read begins with is dropped (the whole log when
 * nothing was rotated), and what follows it is new. No line is lost or repeated, rotation or not.
 */
export class LogResume {
  private hashes = new Uint32Array(1024)
  private count = 0

  /** How many lines were delivered. */
  get delivered(): number {
    return this.count
  }

  /** Records a line as delivered. */
  record(line: string): void {
    if (this.count === this.hashes.length) {
      const grown = new Uint32Array(this.hashes.length * 2)
      grown.set(this.hashes)
      this.hashes = grown
    }
    this.hashes[this.count++] = hash(line)
  }

  /**
   * The new lines of a one-shot read of the current file (a catch-up after the container ended): those
   * after the place where the read holds the last delivered line, preceded by the longest run of the
   * lines delivered before it. The run may start after the read's first line: the kubelet's stream
   * can lack lines that its file has (a rotation's, see log-follower.ts), and those, already behind
   * what was stored, are not stored out of order. A run that does not reach back to the read's start
   * counts only from RUN_TO_TRUST lines, so that a common line does not pass for the place. With no
   * such place, the whole read is new (a new file, or nothing delivered yet).
   */
  newLinesOfRead(lines: readonly string[]): string[] {
    const n = this.count
    if (n === 0) return [...lines]
    const last = this.hashes[n - 1]
    const hashes = lines.map(hash)
    let place = -1
    let best = 0
    for (let p = hashes.length - 1; p >= 0; p--) {
      if (hashes[p] !== last) continue
      let run = 1
      while (run <= p && run < n && run < RUN_TO_TRUST && hashes[p - run] === this.hashes[n - 1 - run]) run++
      const aligned = run === Math.min(n, p + 1)
      if ((aligned || run >= RUN_TO_TRUST) && run > best) {
        best = run
        place = p
      }
    }
    return lines.slice(place + 1)
  }

  /** A placement of one re-read: feed it the re-read's lines, in order, then `end()`. */
  reread(): Reread {
    return new Reread(this.hashes.subarray(0, this.count))
  }
}

// Lines of a run that places a one-shot read away from its start (and the most compared per place).
const RUN_TO_TRUST = 16

// Past this many held lines a re-read is placed on what it has seen so far, to bound its memory.
const MAX_HELD = 200_000

export class Reread {
  private readonly held: string[] = []
  /** Starting indices k of the delivered lines that the re-read may continue (delivered[k + j] = line j). */
  private candidates: number[] = []
  /** The longest overlap found so far: re-read lines [0, overlap) were already delivered. */
  private overlap = 0
  private placed = false

  constructor(private readonly delivered: Uint32Array) {
    if (delivered.length === 0) this.placed = true
  }

  /** Returns the lines that are now known to be new, in order. */
  push(line: string): string[] {
    if (this.placed) return [line]
    const j = this.held.length
    this.held.push(line)
    const h = hash(line)
    const n = this.delivered.length
    if (j === 0) {
      for (let k = 0; k < n; k++) if (this.delivered[k] === h) this.candidates.push(k)
    } else {
      this.candidates = this.candidates.filter((k) => this.delivered[k + j] === h)
    }
    // A candidate that reached the last delivered line is an overlap; the smallest k is the longest.
    const alive: number[] = []
    for (const k of this.candidates) {
      if (k + j === n - 1) this.overlap = Math.max(this.overlap, j + 1)
      else alive.push(k)
    }
    this.candidates = alive
    if (this.candidates.length === 0 || this.held.length >= MAX_HELD) return this.place()
    return []
  }

  /** The re-read ended: the lines held past the longest overlap are new. */
  end(): string[] {
    return this.placed ? [] : this.place()
  }

  private place(): string[] {
    this.placed = true
    return this.held.splice(0).slice(this.overlap)
  }
}

/** FNV-1a over the UTF-16 code units: cheap, and a collision needs two lines equal in hash and position. */
function hash(line: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < line.length; i++) {
    h ^= line.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
