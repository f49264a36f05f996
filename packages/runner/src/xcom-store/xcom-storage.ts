import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Database } from '../store/database.js'
import { openXComStore } from './open-xcom-store.js'
import type { XComOffload } from './xcom-offload.js'
import { DEFAULT_OFFLOAD_BYTES, storePrefix } from './xcom-reference.js'

/** Where large XCom values go (PODLINE_XCOM_STORE and friends), as every entry point takes it. */
export interface XComStorageOptions {
  /** `file:///folder` or `s3://bucket/prefix`. Default: a folder beside the embedded store; none on PostgreSQL. */
  xcomStore?: string
  /** Values above this size go to the store. Default 64 KiB. */
  xcomOffloadBytes?: number
  /** An S3-compatible server's URL (PODLINE_S3_ENDPOINT); default AWS. */
  s3Endpoint?: string
  /** How long one call to an S3 store may take, retries included. Default 120 s. */
  s3TimeoutMs?: number
}

/**
 * The store the options name; without one, the embedded store keeps large values in
 * `<data dir>/xcoms` and a PostgreSQL store keeps every value in its row.
 */
export async function openXComStorage(
  options: XComStorageOptions,
  database: Database,
): Promise<XComOffload | undefined> {
  const url =
    options.xcomStore ??
    (database.driver === 'pglite' ? pathToFileURL(resolve(database.location, 'xcoms')).href : undefined)
  if (!url) return undefined
  const prefix = storePrefix(await database.storeId())
  const store = await openXComStore(url, {
    ...(options.s3Endpoint ? { s3Endpoint: options.s3Endpoint } : {}),
    ...(options.s3TimeoutMs ? { s3TimeoutMs: options.s3TimeoutMs } : {}),
  })
  return { store, offloadBytes: options.xcomOffloadBytes ?? DEFAULT_OFFLOAD_BYTES, prefix }
}
