import type { Readable } from 'node:stream'
import type { TransferTarget } from './transfer-target.js'

/**
 * Where XCom values too large for a PostgreSQL row live: one interface over a folder and an S3
 * bucket. Keys are written once (each attempt and claim has keys of its own), so no operation here
 * needs to be atomic beyond a single object.
 */
export interface XComStore {
  /** The store's URL without credentials (`file:///srv/xcoms`, `s3://bucket/prefix`): what messages show. */
  readonly location: string
  /** A string is written as UTF-8: a JSON value reaches the store without a copy into a Buffer. */
  put(key: string, body: Buffer | string): Promise<void>
  get(key: string): Promise<Buffer>
  /** The object as a stream, for readers that pass it on without holding it (`podline xcom`). */
  stream(key: string): Promise<Readable>
  /**
   * A way for a pod to write (`put`) or read (`get`) this one object without the store's
   * credentials: a presigned URL (S3) or the object's path (a folder, for the process runtime).
   */
  transferTarget(key: string, access: 'put' | 'get', expiresInSeconds: number): Promise<TransferTarget>
  delete(keys: readonly string[]): Promise<void>
  /** Every object under `prefix`, with its last change, for the collection of orphans. */
  list(prefix: string): AsyncIterable<{ key: string; modified: Date }>
  close(): Promise<void>
}

/** The store's error: names the store, so a failed attempt says where the value could not go. */
export class XComStoreError extends Error {
  override readonly name = 'XComStoreError'
}

/** The one wording of a store operation that failed: what, where, and the store's own reason. */
export function storeFailure(location: string, what: string, error: unknown): XComStoreError {
  return new XComStoreError(`${what} in the XCom store ${location} failed: ${(error as Error).message}`, {
    cause: error,
  })
}
