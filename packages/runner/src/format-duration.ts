/** `300000` → `5m`, `1500` → `1.5s`: durations in messages, in the unit the options are written in. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  if (ms < 60_000) return `${trim(ms / 1000)}s`
  if (ms < 3_600_000) return `${trim(ms / 60_000)}m`
  return `${trim(ms / 3_600_000)}h`
}

function trim(value: number): string {
  return String(Math.round(value * 10) / 10)
}
