/**
 * `300000` → `5m`, `1500` → `1.5s`, `12.4` → `12ms`: durations in messages and tables, in the unit
 * task options are written in (`timeout: '5m'`), one decimal at most.
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${trim(ms / 1000)}s`
  if (ms < 3_600_000) return `${trim(ms / 60_000)}m`
  return `${trim(ms / 3_600_000)}h`
}

function trim(value: number): string {
  return String(Math.round(value * 10) / 10)
}
