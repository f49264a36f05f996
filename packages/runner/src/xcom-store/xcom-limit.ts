import { formatBytes } from '../format/format-bytes.js'

/**
 * The ceiling of one stored XCom, for inline task outputs and pod results alike: XComs live in
 * PostgreSQL rows unless an XCom store is configured. Raised per worker with `xcomSizeLimitBytes`
 * (PODLINE_XCOM_LIMIT_BYTES).
 */
export const DEFAULT_XCOM_SIZE_LIMIT_BYTES = 1024 * 1024
/** The ceiling with an XCom store (PODLINE_XCOM_STORE), where large values live outside PostgreSQL. */
export const DEFAULT_XCOM_STORE_LIMIT_BYTES = 5 * 1024 ** 3

/**
 * The one wording of the limit's error, whoever checks it (attempt-outcome.ts, map-expansion.ts,
 * pods/xcom-value.ts, pod-transfers.ts). It names the variable users set, and advises an XCom
 * store only to those who have none (`store`: the configured store's location).
 */
export function xcomTooLargeMessage(what: string, size: number, limitBytes: number, store?: string): string {
  const over =
    `${what} is ${formatBytes(size)} (${size} bytes), over the XCom size limit of ${formatBytes(limitBytes)} ` +
    `(${limitBytes} bytes, PODLINE_XCOM_LIMIT_BYTES)`
  return store === undefined
    ? `${over}; set PODLINE_XCOM_STORE (file:// or s3://) to keep large values in object storage, or raise PODLINE_XCOM_LIMIT_BYTES`
    : `${over} with the XCom store ${store}; raise PODLINE_XCOM_LIMIT_BYTES, or write the data elsewhere and return where it is`
}
