import { formatBytes } from '../pods/format-bytes.js'

/**
 * The ceiling of one stored XCom, for inline task outputs and pod results alike: XComs live in
 * PostgreSQL rows, not object storage. Raised per worker with `xcomSizeLimitBytes`
 * (PODLINE_XCOM_LIMIT_BYTES).
 */
export const DEFAULT_XCOM_SIZE_LIMIT_BYTES = 1024 * 1024

/** The one wording of the limit's error, whoever checks it (attempt-outcome.ts, pods/xcom-value.ts). */
export function xcomTooLargeMessage(what: string, size: number, limitBytes: number): string {
  return (
    `${what} is ${formatBytes(size)} (${size} bytes), over the XCom size limit of ${formatBytes(limitBytes)} ` +
    `(${limitBytes} bytes, option xcomSizeLimitBytes); ` +
    'write large data to object storage or a table and return a reference to it, or raise the limit'
  )
}
