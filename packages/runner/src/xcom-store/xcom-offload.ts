import { TaskFailure } from '../engine/task-failure.js'
import { type XComStore, XComStoreError } from './xcom-store.js'

/** What the worker knows of the store: none, or one and the size above which values go there. */
export interface XComOffload {
  readonly store: XComStore
  readonly offloadBytes: number
  /** This database's folder in the store (`storePrefix`): every key it writes, collects or prunes is under it. */
  readonly prefix: string
}

/** A store that fails is the infrastructure's failure: the attempt is retried while retries remain. */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof XComStoreError) throw new TaskFailure(error.message, 'infra', { cause: error })
    throw error
  }
}
