/**
 * Why an attempt stops in this process while it goes on elsewhere: its lease is another worker's
 * now (LeaseLostError), or its worker stopped and handed it back to the queue. The next holder
 * continues the same attempt (same number, same pod), so what the attempt started outside the
 * process must be left as it is. Cancellation and timeouts are not this: they end the attempt.
 */
export class HandedOverError extends Error {
  override readonly name: string = 'HandedOverError'
}
