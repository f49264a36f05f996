import { createHash } from 'node:crypto'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { JsonValue } from '@podline/sdk'
import { formatBytes } from '../format/format-bytes.js'
import {
  isReference,
  REFERENCE_KEY,
  type StoredReference,
  type XComReference,
} from '../store/xcom-row-value.js'
import { type XComStore, XComStoreError } from './xcom-store.js'

/** Where values above this many bytes go when a store is configured. */
export const DEFAULT_OFFLOAD_BYTES = 64 * 1024

/**
 * The folder of one database's objects, `xcoms/<store id>/`: databases that share a bucket or a
 * folder (staging and production, two teams) each collect and prune under their own prefix only,
 * as the orphan sweep of pods goes by the store's label.
 */
export function storePrefix(storeId: string): string {
  return `xcoms/${storeId}/`
}

/**
 * The object's key: one per run, task, attempt and claim, so two executions of one attempt (a
 * takeover beside a worker that lost its lease) never write the same object; the loser's is an
 * orphan, which `collectOrphanXComs` removes. Every key starts with `<store prefix><run id>/`.
 */
/** The attempt (or item attempt) an object of the store belongs to: what its key is made of. */
export interface ObjectOwner {
  readonly runId: string
  readonly task: string
  readonly attempt: number
  readonly claim: number
  readonly mapIndex?: number | null | undefined
}

export function objectKey(prefix: string, ref: ObjectOwner, key: string): string {
  const item =
    ref.mapIndex === undefined || ref.mapIndex === null || ref.mapIndex < 0 ? '' : `i${ref.mapIndex}-`
  return `${prefix}${ref.runId}/${encodeURIComponent(ref.task)}/${item}${ref.attempt}-${ref.claim}/${encodeURIComponent(key)}.json`
}

/** Writes the value's JSON to the store and returns the reference its row holds instead. */
export async function offload(store: XComStore, key: string, json: string): Promise<StoredReference> {
  await store.put(key, json)
  return {
    [REFERENCE_KEY]: {
      store: store.location,
      key,
      size: Buffer.byteLength(json),
      sha256: createHash('sha256').update(json, 'utf8').digest('hex'),
    },
  }
}

/**
 * The value a row holds, reading an offloaded one from the store and checking its size and
 * checksum. `what` names the XCom in errors ("the output of task \"load\"").
 */
export async function resolveValue(
  store: XComStore | undefined,
  value: unknown,
  what: string,
): Promise<unknown> {
  if (!isReference(value)) return value
  const { ref, from } = checkedReference(store, value, what)
  const body = await from.get(ref.key)
  const sha256 = createHash('sha256').update(body).digest('hex')
  if (body.length !== ref.size || sha256 !== ref.sha256) throw mismatch(what, ref, body.length, sha256)
  return JSON.parse(body.toString('utf8')) as JsonValue
}

function checkedReference(
  store: XComStore | undefined,
  value: StoredReference,
  what: string,
): { ref: XComReference; from: XComStore } {
  const ref = value[REFERENCE_KEY]
  if (!store) {
    throw new XComStoreError(
      `${what} is stored in ${ref.store} (${formatBytes(ref.size)}), and this process has no XCom store; ` +
        `set PODLINE_XCOM_STORE=${ref.store}`,
    )
  }
  if (ref.store !== store.location) {
    throw new XComStoreError(
      `${what} is stored in ${ref.store}, but this process uses the XCom store ${store.location}; ` +
        'every worker and CLI of one database must use the same PODLINE_XCOM_STORE',
    )
  }
  return { ref, from: store }
}

function mismatch(what: string, ref: XComReference, size: number, sha256: string): XComStoreError {
  return new XComStoreError(
    `${what} in ${ref.store} (${ref.key}) is not the object that was stored: ${size} bytes with sha256 ${sha256}, ` +
      `expected ${ref.size} bytes with sha256 ${ref.sha256}; it was changed or cut short after it was written`,
  )
}

/**
 * Copies an offloaded value's JSON to `out` as it is read, never holding it whole, and checks its
 * size and checksum at the end (a mismatch rejects after the bytes went out: the caller says so).
 */
export async function pipeValue(
  store: XComStore,
  value: StoredReference,
  out: NodeJS.WritableStream,
  what: string,
): Promise<void> {
  const { ref } = checkedReference(store, value, what)
  const hash = createHash('sha256')
  let size = 0
  const body = await store.stream(ref.key)
  await pipeline(
    body,
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk)
        size += chunk.length
        done(null, chunk)
      },
    }),
    out,
    { end: false },
  )
  const sha256 = hash.digest('hex')
  if (size !== ref.size || sha256 !== ref.sha256) throw mismatch(what, ref, size, sha256)
}

/**
 * A mapped task's output: the array of its items' values, each of which may be kept in the store
 * (an item's output passed the reserved-key check, so an element of that shape is a reference).
 */
export async function resolveItems(
  store: XComStore | undefined,
  value: unknown,
  what: string,
): Promise<unknown> {
  if (!Array.isArray(value)) return resolveValue(store, value, what)
  return Promise.all(value.map((item, i) => resolveValue(store, item, `${what}, item ${i}`)))
}

/** Resolves each upstream's value of a task's inputs; `mapped` names the upstreams that are mapped tasks. */
export async function resolveInputs(
  store: XComStore | undefined,
  inputs: Record<string, unknown>,
  mapped: ReadonlySet<string> = new Set(),
): Promise<Record<string, unknown>> {
  const entries = await Promise.all(
    Object.entries(inputs).map(async ([task, value]) => {
      const what = `the output of task "${task}"`
      return [
        task,
        mapped.has(task) ? await resolveItems(store, value, what) : await resolveValue(store, value, what),
      ]
    }),
  )
  return Object.fromEntries(entries)
}
