import { createHash } from 'node:crypto'
import type { StoredInput } from '@podline/sdk'
import { TaskFailure } from '../engine/task-failure.js'
import { formatBytes } from '../format/format-bytes.js'
import { isReference, REFERENCE_KEY, type StoredReference } from '../store/xcom-row-value.js'
import { type TransferTarget, transferExpirySeconds } from './transfer-target.js'
import { xcomTooLargeMessage } from './xcom-limit.js'
import { storeCall, type XComOffload } from './xcom-offload.js'
import { type ObjectOwner, objectKey } from './xcom-reference.js'
import type { XComStore } from './xcom-store.js'

/**
 * A pod's result that the pod wrote to the XCom store itself and the worker checked: what the pod
 * executor hands the worker in place of the value, recorded as the reference (never written again).
 */
export class StoredXCom {
  constructor(readonly reference: StoredReference) {}
  get size(): number {
    return this.reference[REFERENCE_KEY].size
  }
}

/** What a pod reported it wrote: the result file's length and sha256. */
export interface ReportedUpload {
  readonly size: number
  readonly sha256: string
}

/**
 * The XCom store as one attempt of a pod task sees it: one object it may write (its return value's
 * key, for this attempt only), read access to its upstreams' stored values, and the
 * check of what the pod wrote.
 */
export interface PodXComTransfers {
  /** The store's location, for messages. */
  readonly location: string
  /** The largest value the pod may write there (the worker's xcomSizeLimitBytes). */
  readonly limitBytes: number
  /** Where the pod writes its result: minted once per attempt, valid until its deadline. */
  uploadTarget(): Promise<TransferTarget>
  /**
   * Streams the object the pod wrote and compares its length and sha256 with what the pod reported:
   * the value to record when they match, a failure naming the mismatch when not.
   */
  accept(reported: ReportedUpload, task: string): Promise<StoredXCom>
  /** The accepted object's bytes, for a task whose output schema must see the value. */
  read(stored: StoredXCom): Promise<Buffer>
  /** A short-lived read of a stored upstream value: undefined for a value kept in its row. */
  inputTarget(value: unknown, what: string): Promise<StoredInput | undefined>
}

export function podXComTransfers(
  xcoms: XComOffload,
  ref: Omit<ObjectOwner, 'claim'>,
  options: { msToDeadline: number | null; limitBytes: number },
): PodXComTransfers {
  const { store } = xcoms
  // One pod per attempt (a takeover attaches to it), so its upload key is the attempt's, without the
  // claim: the worker that takes over checks the object the pod it attached to wrote.
  const key = objectKey(xcoms.prefix, { ...ref, claim: 0 }, 'return_value')
  const expiry = () => transferExpirySeconds(options.msToDeadline)
  let upload: Promise<TransferTarget> | undefined
  return {
    location: store.location,
    limitBytes: options.limitBytes,
    uploadTarget() {
      upload ??= storeCall(() => store.transferTarget(key, 'put', expiry()))
      return upload
    },
    async accept(reported, task) {
      const what = `the result of pod task "${task}"`
      if (reported.size > options.limitBytes) {
        throw new TaskFailure(
          xcomTooLargeMessage(what, reported.size, options.limitBytes, store.location),
          'fatal',
        )
      }
      const found = await storeCall(() => measure(store, key))
      if (found.size !== reported.size || found.sha256 !== reported.sha256) {
        const how =
          found.size < reported.size ? 'truncated' : found.size > reported.size ? 'longer' : 'changed'
        throw new TaskFailure(
          `${what} in the XCom store ${store.location} (${key}) is not what the pod uploaded: the object is ${how}, ` +
            `${found.size} bytes with sha256 ${found.sha256}, but the pod reported ${reported.size} bytes with sha256 ${reported.sha256}; ` +
            'the upload was cut short or changed on its way, so it is refused',
          'infra',
        )
      }
      return new StoredXCom({
        [REFERENCE_KEY]: { store: store.location, key, size: found.size, sha256: found.sha256 },
      })
    },
    read(stored) {
      return storeCall(() => store.get(stored.reference[REFERENCE_KEY].key))
    },
    async inputTarget(value, what) {
      if (!isReference(value)) return undefined
      const stored = value[REFERENCE_KEY]
      if (stored.store !== store.location) {
        throw new TaskFailure(
          `${what} is stored in ${stored.store}, but this worker uses the XCom store ${store.location}; ` +
            'every worker and CLI of one database must use the same PODLINE_XCOM_STORE',
          'fatal',
        )
      }
      const target = await storeCall(() => store.transferTarget(stored.key, 'get', expiry()))
      if (target.kind === 'unavailable')
        throw new TaskFailure(
          `${what} (${formatBytes(stored.size)}) cannot be handed to a pod: ${target.reason}`,
          'fatal',
        )
      return { ...target, size: stored.size, sha256: stored.sha256 }
    },
  }
}

/** The object's length and sha256, read as a stream: a value of any size costs a chunk of memory. */
async function measure(store: XComStore, key: string): Promise<ReportedUpload> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of await store.stream(key)) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { size, sha256: hash.digest('hex') }
}
