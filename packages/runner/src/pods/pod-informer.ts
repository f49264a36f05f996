import { type KubeConfig, ListWatch, type V1Pod, type V1PodList, Watch } from '@kubernetes/client-node'
import { Backoff } from '../backoff.js'
import { TaskFailure } from '../engine/task-failure.js'
import { abortReason } from './abortable.js'
import { apiStatus, classifyApiError } from './api-call.js'
import type { KubeClient } from './kube-client.js'
import { storeSelector } from './pod-identity.js'

/** What a pod task knows of its pod: its last state, or that it is gone. */
export interface PodState {
  readonly pod: V1Pod
  readonly deleted: boolean
}

export const TIMED_OUT: unique symbol = Symbol('timed out')

// Consecutive failed (re)connections before the pods waiting on the watch fail: about a minute of backoff
// (0.1 s doubling to 5 s: 61 s before the 18th), so an API server restart that takes longer than 20 s
// does not fail every running pod task.
const MAX_WATCH_FAILURES = 18

/**
 * The watch client of the informer: client-node's Watch, asking for BOOKMARK events and aborting the
 * requests still open when the informer closes. Why not makeInformer's own Watch: ListWatch sends no
 * `allowWatchBookmarks`, so a quiet namespace's resourceVersion ages until a reconnect gets 410 and
 * re-lists every pod; and a watch whose request was still connecting when ListWatch.stop() ran is
 * assigned after the stop and stays open until the server ends it.
 */
class InformerWatch extends Watch {
  private readonly open = new Set<AbortController>()
  private closed = false

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (this.closed) {
      const none = new AbortController()
      none.abort()
      return none
    }
    const controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, callback, done)
    if (this.closed || controller.signal.aborted) controller.abort()
    else {
      this.open.add(controller)
      controller.signal.addEventListener('abort', () => this.open.delete(controller), { once: true })
    }
    return controller
  }

  close(): void {
    this.closed = true
    for (const controller of this.open) controller.abort()
  }
}

/**
 * One list + watch of this store's pods in one namespace (client-node's ListWatch, the informer
 * makeInformer builds: list, watch from its resourceVersion, resume on a dropped connection, re-list
 * on 410 Gone), shared by every pod task of the worker in that namespace: a worker supervising 500
 * pods holds one watch, not 500. Each task follows its pod through {@link track}.
 *
 * What ListWatch leaves to its user, done here: it stops on any error other than 410 (reporting it
 * once through `error`), so the informer restarts it with backoff, and fails the tasks waiting on it
 * when the error is one no retry fixes (403) or after {@link MAX_WATCH_FAILURES} failures in a row. Its
 * re-list reports deletions only of pods it had cached; a pod created after the watch began and gone
 * before its ADDED arrived is caught by comparing each re-list with the pods being tracked.
 */
export class PodInformer {
  private readonly watch: InformerWatch
  private readonly informer: ListWatch<V1Pod>
  private readonly tracked = new Map<string, Set<PodHandle>>()
  private readonly backoff = new Backoff(100, 5000)
  private failures = 0
  private lists = 0
  private closed = false
  private restart: NodeJS.Timeout | undefined
  /** True once a list has filled the cache: before that, {@link cached} has nothing to offer. */
  synced = false

  constructor(
    kube: KubeClient,
    readonly namespace: string,
    readonly store: string,
  ) {
    const labelSelector = storeSelector(store)
    this.watch = new InformerWatch(kube.config as KubeConfig)
    this.informer = new ListWatch<V1Pod>(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      this.watch,
      () => this.list(kube, labelSelector),
      false,
      labelSelector,
    )
    this.informer.on('add', (pod) => this.deliver(pod, false))
    this.informer.on('update', (pod) => this.deliver(pod, false))
    this.informer.on('delete', (pod) => this.deliver(pod, true))
    this.informer.on('error', (error) => this.onError(error))
    this.start()
  }

  /**
   * Follows one pod from `initial` (what create or read returned) on; the cache's copy, when it has
   * one, is at least as new. The handle fails when `signal` aborts or the watch is lost.
   */
  track(name: string, initial: V1Pod, signal: AbortSignal): PodHandle {
    const handle = new PodHandle(
      { pod: this.informer.get(name, this.namespace) ?? initial, deleted: false },
      this.lists,
      signal,
      () => this.untrack(name, handle),
    )
    const handles = this.tracked.get(name) ?? new Set()
    handles.add(handle)
    this.tracked.set(name, handles)
    return handle
  }

  /** The cached pods of this store in this namespace, once a list has filled the cache. */
  cached(): readonly V1Pod[] | undefined {
    return this.synced ? this.informer.list(this.namespace) : undefined
  }

  /** How many tasks follow a pod through this informer. */
  get following(): number {
    let n = 0
    for (const handles of this.tracked.values()) n += handles.size
    return n
  }

  close(): void {
    this.closed = true
    clearTimeout(this.restart)
    void this.informer.stop()
    this.watch.close()
    for (const handles of this.tracked.values())
      for (const handle of handles) handle.fail(new TaskFailure('the pod executor was closed', 'infra'))
  }

  /** ListWatch.start() rejects when a request cannot even be prepared (the kubeconfig's auth): an error like the others. */
  private start(): void {
    this.informer.start().catch((error: unknown) => this.onError(error))
  }

  private async list(kube: KubeClient, labelSelector: string): Promise<V1PodList> {
    const seq = ++this.lists
    const list = await kube.core.listNamespacedPod({ namespace: this.namespace, labelSelector })
    this.synced = true
    this.failures = 0
    const present = new Set(list.items.map((p) => p.metadata?.name))
    for (const [name, handles] of this.tracked) {
      if (present.has(name)) continue
      // The list began after these handles were made, so after their pod existed: it is gone.
      for (const handle of handles)
        if (handle.since < seq) handle.update({ pod: handle.current.pod, deleted: true })
    }
    return list
  }

  private deliver(pod: V1Pod, deleted: boolean): void {
    this.failures = 0
    const name = pod.metadata?.name
    if (name === undefined) return
    for (const handle of this.tracked.get(name) ?? []) handle.update({ pod, deleted })
  }

  private onError(error: unknown): void {
    if (this.closed) return
    this.failures++
    const status = apiStatus(error)
    if (status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 410) {
      this.failAll(classifyApiError(`watch pods in namespace ${this.namespace}`, error))
    } else if (this.failures >= MAX_WATCH_FAILURES) {
      this.failAll(
        new TaskFailure(
          `lost the watch on pods in namespace ${this.namespace}: ${this.failures} reconnections failed (last: ${String((error as Error)?.message ?? error)})`,
          'infra',
          { cause: error },
        ),
      )
    }
    // ListWatch does not restart after an error: start it again, from its resourceVersion.
    this.restart = setTimeout(() => {
      if (!this.closed) this.start()
    }, this.backoff.after(this.failures))
    this.restart.unref()
  }

  private failAll(error: unknown): void {
    for (const handles of this.tracked.values()) for (const handle of handles) handle.fail(error)
  }

  private untrack(name: string, handle: PodHandle): void {
    const handles = this.tracked.get(name)
    handles?.delete(handle)
    if (handles?.size === 0) this.tracked.delete(name)
  }
}

interface Waiter {
  check: (state: PodState) => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  timer: NodeJS.Timeout | undefined
}

/** One task's view of its pod through the shared informer: the last state, and waits on later ones. */
export class PodHandle {
  private state: PodState
  private readonly waiters = new Set<Waiter>()
  private failure: unknown
  private stopped = false

  constructor(
    initial: PodState,
    /** The informer's list count when the handle was made: later lists must contain the pod. */
    readonly since: number,
    private readonly signal: AbortSignal,
    private readonly onStop: () => void,
  ) {
    this.state = initial
    signal.addEventListener('abort', this.onAbort, { once: true })
  }

  get current(): PodState {
    return this.state
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

  /** Stops following the pod (the informer goes on for the others). */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.signal.removeEventListener('abort', this.onAbort)
    this.onStop()
  }

  update(state: PodState): void {
    if (this.state.deleted) return
    this.state = state
    for (const waiter of this.waiters) this.evaluate(waiter)
  }

  fail(error: unknown): void {
    this.failure ??= error
    this.stop()
    for (const waiter of this.waiters) this.settle(waiter, () => waiter.reject(error))
  }

  private readonly onAbort = () => this.fail(abortReason(this.signal))

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
}

/** The informers of one executor, one per namespace and store, made when a pod first goes there. */
export class PodInformers {
  private readonly informers = new Map<string, PodInformer>()
  private readonly attended = new Map<string, number>()

  constructor(private readonly kube: () => KubeClient) {}

  for(namespace: string, store: string): PodInformer {
    const key = `${namespace}\0${store}`
    const informer = this.informers.get(key) ?? new PodInformer(this.kube(), namespace, store)
    this.informers.set(key, informer)
    return informer
  }

  /**
   * Marks a pod as one a task of this executor looks after (from its launch until its onFinish is
   * done), so the orphan sweep does not judge it meanwhile; returns the release.
   */
  attend(ref: { namespace: string; name: string }): () => void {
    const key = `${ref.namespace}/${ref.name}`
    this.attended.set(key, (this.attended.get(key) ?? 0) + 1)
    let done = false
    return () => {
      if (done) return
      done = true
      const n = (this.attended.get(key) ?? 1) - 1
      if (n > 0) this.attended.set(key, n)
      else this.attended.delete(key)
    }
  }

  isAttended(ref: { namespace: string; name: string }): boolean {
    return this.attended.has(`${ref.namespace}/${ref.name}`)
  }

  /** The cached pods of `store` in `namespace`, when an informer there has listed them. */
  cached(namespace: string, store: string): readonly V1Pod[] | undefined {
    return this.informers.get(`${namespace}\0${store}`)?.cached()
  }

  close(): void {
    for (const informer of this.informers.values()) informer.close()
    this.informers.clear()
  }
}
