/**
 * The executor's limit on open log streams. A follow stream is one connection to the API server and
 * the kubelet per pod: a worker supervising a thousand pods streams the first `limit` of them live,
 * the next as slots free up (a late stream reads the log from its start, so nothing is lost), and a
 * container that ends while still waiting has its last `tailLines` lines read once.
 */
export class LogStreams {
  private open = 0
  private readonly waiting: Array<() => void> = []

  constructor(
    readonly limit: number,
    readonly tailLines: number,
  ) {
    if (!Number.isInteger(limit) || limit < 0)
      throw new Error(`logStreams must be a whole number of at least 0, not ${limit}`)
    if (!Number.isInteger(tailLines) || tailLines < 1)
      throw new Error(`logTailLines must be a whole number of at least 1, not ${tailLines}`)
  }

  /** How many streams are open. */
  get streaming(): number {
    return this.open
  }

  /**
   * Resolves with the release of a slot once one is free, or with undefined when `giveUp` settles
   * first (the container ended: its log is read once instead).
   */
  acquire(giveUp: Promise<void>): Promise<(() => void) | undefined> {
    return new Promise((resolve) => {
      let done = false
      const grant = () => {
        if (done) return
        done = true
        this.open++
        let released = false
        resolve(() => {
          if (released) return
          released = true
          this.open--
          this.waiting.shift()?.()
        })
      }
      if (this.open < this.limit) return grant()
      const turn = () => {
        if (done) this.waiting.shift()?.()
        else grant()
      }
      this.waiting.push(turn)
      void giveUp.then(() => {
        if (done) return
        done = true
        const index = this.waiting.indexOf(turn)
        if (index !== -1) this.waiting.splice(index, 1)
        resolve(undefined)
      })
    })
  }
}
