/** An environment variable that does not parse: the message names it, its value and the fix; exit 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}
