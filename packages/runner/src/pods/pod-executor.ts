import type { JsonValue, PodTaskDefinition } from '@podline/sdk'
import type { TaskExecution } from '../executors/task-execution.js'
import type { StoredXCom } from '../xcom-store/pod-transfers.js'
import type { ApiRetryPolicy } from './api-call.js'
import { createKubeClient, type KubeClient, type KubeOptions } from './kube-client.js'
import { DEFAULT_TAIL_LINES } from './log-follower.js'
import { LogStreams } from './log-streams.js'
import { collectOrphanPods, deletePodsOfRun, type PodSweepOptions, type PodTaskRef } from './orphan-pods.js'
import { PodInformers } from './pod-informer.js'
import { launchPod } from './pod-launcher.js'
import { evaluatePodSpec } from './pod-spec-evaluation.js'
import { runPodAsProcesses } from './process-runtime.js'
import type { SidecarMode } from './xcom-sidecar.js'
import { DEFAULT_XCOM_SIZE_LIMIT_BYTES } from './xcom-value.js'

export interface PodExecutorOptions {
  /** `kubernetes`: pods on the cluster of the kubeconfig; `process`: local processes, same XCom contract. */
  runtime: 'kubernetes' | 'process'
  kube?: KubeOptions
  /** Default sidecar image for tasks that name none. Default `alpine:3.20`. */
  sidecarImage?: string
  /** Default sidecar mode for tasks that name none: `native` (Kubernetes 1.29+, default) or `exec`. */
  sidecarMode?: SidecarMode
  /** Largest result a pod task may return. Default 1 MiB. */
  xcomSizeLimitBytes?: number
  /** Backoff of API calls that fail with 5xx, 429 or a dropped connection. */
  apiRetry?: ApiRetryPolicy
  /**
   * Base-container logs streamed live at once (one connection each). The logs of pods beyond it
   * stream as slots free up, or are read once their container ends (`logTailLines`). Default 100.
   */
  logStreams?: number
  /** Lines read from a base container that ended before it got a stream. Default 10,000. */
  logTailLines?: number
}

export const DEFAULT_LOG_STREAMS = 100

/** What the worker engine calls to run pod tasks. */
export interface PodExecutor {
  /**
   * Runs one attempt; resolves with the task's result, undefined when it wrote none, or a StoredXCom
   * when the pod wrote it to the XCom store and the worker checked it there.
   */
  execute(exec: TaskExecution, def: PodTaskDefinition): Promise<JsonValue | StoredXCom | undefined>
  /**
   * Deletes this store's pods whose task run is no longer live, in the executor's namespace, every
   * namespace it launched into and `sweep.namespaces`; returns how many. 0 with the process runtime.
   */
  collectOrphans(sweep: PodSweep, isLive: (ref: PodTaskRef) => Promise<boolean>): Promise<number>
  /** Deletes every pod of a cancelled run of this store; returns how many. */
  deletePodsOfRun(runId: string, sweep: PodSweep): Promise<number>
  close(): Promise<void>
}

/** Which store's pods to sweep, and namespaces to look in besides those the executor knows. */
export interface PodSweep {
  readonly store: string
  readonly namespaces?: Iterable<string>
}

/**
 * The one entry point for the engine.
 * @example
 * const pods = createPodExecutor({ runtime: 'kubernetes', kube: { context: 'prod', namespace: 'etl' } })
 * const value = await pods.execute(execution, definition)
 */
export function createPodExecutor(options: PodExecutorOptions): PodExecutor {
  const xcomSizeLimitBytes = options.xcomSizeLimitBytes ?? DEFAULT_XCOM_SIZE_LIMIT_BYTES
  // Built on first use: a worker with the process runtime, or without pod tasks, needs no kubeconfig.
  let kube: KubeClient | undefined
  const client = () => {
    kube ??= createKubeClient(options.kube)
    return kube
  }
  const informers = new PodInformers(client)
  const logStreams = new LogStreams(
    options.logStreams ?? DEFAULT_LOG_STREAMS,
    options.logTailLines ?? DEFAULT_TAIL_LINES,
  )
  // Pods may go to any namespace a spec names; the sweep must look wherever this process put one.
  const launchedInto = new Set<string>()
  // Pods being deleted (or labelled kept) after their attempt was recorded: close() waits for them.
  const finishing = new Set<Promise<void>>()
  const finishLater = (work: Promise<void>) => {
    const tracked = work.catch(() => {}).finally(() => finishing.delete(tracked))
    finishing.add(tracked)
  }
  const sweepIn = (sweep: PodSweep): PodSweepOptions => ({
    store: sweep.store,
    namespaces: [client().namespace, ...launchedInto, ...(sweep.namespaces ?? [])],
  })
  return {
    async execute(exec, def) {
      const spec = await evaluatePodSpec(def, exec, options.runtime)
      if (options.runtime === 'process') return runPodAsProcesses(exec, def, spec, { xcomSizeLimitBytes })
      return launchPod(client(), exec, def, spec, {
        sidecarImage: options.sidecarImage,
        sidecarMode: options.sidecarMode,
        xcomSizeLimitBytes,
        retry: options.apiRetry,
        onNamespace: (namespace) => launchedInto.add(namespace),
        informers,
        logStreams,
        finishLater,
      })
    },
    async collectOrphans(sweep, isLive) {
      return options.runtime === 'process'
        ? 0
        : collectOrphanPods(client(), sweepIn(sweep), isLive, informers)
    },
    async deletePodsOfRun(runId, sweep) {
      return options.runtime === 'process' ? 0 : deletePodsOfRun(client(), runId, sweepIn(sweep), informers)
    },
    async close() {
      await Promise.all(finishing)
      informers.close()
      kube = undefined
    },
  }
}
