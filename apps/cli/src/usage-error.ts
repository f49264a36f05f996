/** Bad input or configuration: the message names the problem and the fix; the exit code is 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
