import type { V1Pod } from '@kubernetes/client-node'
import { Backoff } from '../backoff.js'
import { TaskFailure } from '../executors/task-execution.js'
import { abortReason, sleep } from './abortable.js'
import { type ApiRetryPolicy, apiStatus, callApi, classifyApiError } from './api-call.js'
import type { KubeClient } from './kube-client.js'

/** What the tracker knows of the pod: its last state, or that it is gone. */
export interface PodState {
  readonly pod: V1Pod
  readonly deleted: boolean
}

export const TIMED_OUT: unique symbol = Symbol('timed out')

interface Waiter {
  check: (state: PodState) => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  timer: NodeJS.Timeout | undefined
}

// Consecutive failed (re)connections before the watch is declared lost: about a minute of backoff.
const MAX_WATCH_FAILURES = 10

/**
 * Follows one pod through the watch API (no polling): resumes from the last resourceVersion when the
 * connection drops, re-lists and re-watches on 410 Gone, backs off between failed reconnects. Callers
 * wait for the state they need with {@link waitFor}.
 */
export class PodTracker {
  private state: PodState
  private resourceVersion: string | undefined
  private readonly waiters = new Set<Waiter>()
  private failure: unknown
  private stopped = false
  private controller: AbortController | undefined

  constructor(
    private readonly kube: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
    initial: V1Pod,
    private readonly options: { signal: AbortSignal; retry?: ApiRetryPolicy | undefined },
  ) {
    this.state = { pod: initial, deleted: false }
    this.resourceVersion = initial.metadata?.resourceVersion
    options.signal.addEventListener('abort', this.onAbort, { once: true })
  }

  get current(): PodState {
    return this.state
  }

  start(): void {
    void this.run()
  }

  stop(): void {
    this.stopped = true
    this.controller?.abort()
    this.options.signal.removeEventListener('abort', this.onAbort)
  }

  /**
   * Resolves with the first non-undefined result of `check` on the current and every later state, or
   * with TIMED_OUT after `timeoutMs`. `check` may throw to fail the wait.
   */
  waitFor<T>(check: (state: PodState) => T | undefined, timeoutMs?: number): Promise<T | typeof TIMED_OUT> {
    return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure)
      const waiter: Waiter = {
        check,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
      }
      if (this.evaluate(waiter)) return
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => this.settle(waiter, () => resolve(TIMED_OUT)), timeoutMs)
      }
      this.waiters.add(waiter)
    })
  }

  private readonly onAbort = () => this.fail(abortReason(this.options.signal))

  private update(state: PodState): void {
    this.state = state
    for (const waiter of this.waiters) this.evaluate(waiter)
  }

  /** True when the waiter settled. */
  private evaluate(waiter: Waiter): boolean {
    try {
      const result = waiter.check(this.state)
      if (result === undefined) return false
      this.settle(waiter, () => waiter.resolve(result))
    } catch (error) {
      this.settle(waiter, () => waiter.reject(error))
    }
    return true
  }

  private settle(waiter: Waiter, action: () => void): void {
    clearTimeout(waiter.timer)
    this.waiters.delete(waiter)
    action()
  }

  private fail(error: unknown): void {
    this.failure ??= error
    this.stop()
    for (const waiter of this.waiters) this.settle(waiter, () => waiter.reject(error))
  }

  private async run(): Promise<void> {
    let failures = 0
    const reconnect = new Backoff(100, 5000)
    while (!this.stopped && !this.state.deleted) {
      const outcome = await this.watchOnce()
      if (this.stopped) return
      try {
        if (outcome.kind === 'gone') {
          await this.relist()
          failures = 0
          continue
        }
        if (outcome.kind === 'error') {
          const status = apiStatus(outcome.error)
          if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
            throw classifyApiError(`watch pod ${this.namespace}/${this.name}`, outcome.error)
          }
          failures++
          if (failures >= MAX_WATCH_FAILURES) {
            throw new TaskFailure(
              `lost the watch on pod ${this.namespace}/${this.name}: ${failures} reconnections failed (last: ${String((outcome.error as Error)?.message ?? outcome.error)})`,
              'infra',
              { cause: outcome.error },
            )
          }
        } else {
          // A clean close (the server's watch timeout) is routine; only a close without events backs off.
          failures = outcome.events > 0 ? 0 : failures + 1
        }
        if (failures > 0) await sleep(reconnect.after(failures), this.options.signal)
      } catch (error) {
        if (!this.stopped) this.fail(error)
        return
      }
    }
  }

  private watchOnce(): Promise<
    { kind: 'closed'; events: number } | { kind: 'gone' } | { kind: 'error'; error: unknown }
  > {
    return new Promise((resolve) => {
      let events = 0
      let gone = false
      let streamError: unknown
      const path = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`
      const query = {
        fieldSelector: `metadata.name=${this.name}`,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
      }
      const onEvent = (type: string, object: unknown) => {
        events++
        if (type === 'ERROR') {
          // An expired resourceVersion arrives as an ERROR event carrying a Status with code 410.
          const status = object as { code?: number; message?: string }
          if (status.code === 410) gone = true
          else
            streamError = Object.assign(new Error(status.message ?? 'watch error'), {
              statusCode: status.code,
            })
          this.controller?.abort()
          return
        }
        const pod = object as V1Pod
        this.resourceVersion = pod.metadata?.resourceVersion ?? this.resourceVersion
        if (type === 'BOOKMARK') return
        this.update({ pod, deleted: type === 'DELETED' })
        if (type === 'DELETED') this.controller?.abort()
      }
      const onDone = (error: unknown) => {
        if (gone || apiStatus(error) === 410) resolve({ kind: 'gone' })
        else if (streamError !== undefined) resolve({ kind: 'error', error: streamError })
        else if (error && !this.stopped && !this.state.deleted && !isAbort(error))
          resolve({ kind: 'error', error })
        else resolve({ kind: 'closed', events })
      }
      this.kube.watch.watch(path, query, onEvent, onDone).then(
        (controller) => {
          this.controller = controller
          if (this.stopped) controller.abort()
        },
        (error: unknown) => onDone(error),
      )
    })
  }

  /** After 410 Gone: read the pod afresh (a list, for its resourceVersion) and watch from there. */
  private async relist(): Promise<void> {
    const list = await callApi(
      `list pod ${this.namespace}/${this.name}`,
      () =>
        this.kube.core.listNamespacedPod({
          namespace: this.namespace,
          fieldSelector: `metadata.name=${this.name}`,
        }),
      { signal: this.options.signal, retry: this.options.retry },
    )
    this.resourceVersion = list.metadata?.resourceVersion
    const pod = list.items[0]
    this.update(pod ? { pod, deleted: false } : { pod: this.state.pod, deleted: true })
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /aborted/i.test(error.message))
}
