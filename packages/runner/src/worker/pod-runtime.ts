import type { PodExecutor } from './worker.js'

export interface PodRuntimeOptions {
  /** Where pod tasks run: `kubernetes` (default, the current kubeconfig) or `process` (local processes, same XCom contract). */
  runtime?: 'kubernetes' | 'process'
  kube?: { kubeconfig?: string; context?: string; namespace?: string; inCluster?: boolean }
  sidecarImage?: string
  sidecarMode?: 'native' | 'exec'
  xcomSizeLimitBytes?: number
  /** Base-container logs streamed live at once; the others are read when their container ends. Default 100. */
  logStreams?: number
  /** Lines read from a base container that ended without a stream. Default 10,000. */
  logTailLines?: number
}

/** Loads the pod launcher only when a pipeline has pod tasks, so inline-only runs skip client-node. */
export async function createPodRuntime(options: PodRuntimeOptions): Promise<PodExecutor> {
  const { createPodExecutor } = await import('../pods/index.js')
  return createPodExecutor({
    runtime: options.runtime ?? 'kubernetes',
    ...(options.kube ? { kube: options.kube } : {}),
    ...(options.sidecarImage ? { sidecarImage: options.sidecarImage } : {}),
    ...(options.sidecarMode ? { sidecarMode: options.sidecarMode } : {}),
    ...(options.xcomSizeLimitBytes ? { xcomSizeLimitBytes: options.xcomSizeLimitBytes } : {}),
    ...(options.logStreams === undefined ? {} : { logStreams: options.logStreams }),
    ...(options.logTailLines === undefined ? {} : { logTailLines: options.logTailLines }),
  })
}
