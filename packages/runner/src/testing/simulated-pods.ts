import type { JsonValue } from '@podline/sdk'
import { LABEL_TASK } from '../pods/pod-identity.js'
import { formatXcomFrame } from '../pods/xcom-frame.js'
import { BASE_CONTAINER, SIDECAR_CONTAINER } from '../pods/xcom-sidecar.js'

/** The fields of the double's pod and container JSON that the simulation reads. */
interface SimulatedPod {
  readonly metadata: { readonly labels?: Record<string, string> | undefined }
}
interface SimulatedContainerSpec {
  readonly name: string
}

export interface SimulatedPodTasks {
  /** How long `base` runs. Default 20 ms. */
  readonly runMs?: number
  /** When given, `base` also waits for it to settle before it exits (a function: per pod, by its labels). */
  readonly until?: Promise<unknown> | ((labels: Record<string, string>) => Promise<unknown>)
  /** Told when a pod's `base` ends, with the pod's labels. */
  readonly onBaseExit?: (labels: Record<string, string>) => void
  /** What `base` writes to the result file, by task (the pod's `podline.dev/task` label); undefined: no file. */
  readonly result?: (task: string) => JsonValue | undefined
  /** What `base` prints. Default one line naming the task. */
  readonly output?: (task: string) => string
  readonly exitCode?: (task: string) => number
}

/**
 * The Kubernetes double's simulated containers for Podline pods (`startKubeDouble({ containers })`):
 * `base` runs for `runMs` and "writes" `result`, the XCom sidecar runs until the kubelet stops it and
 * then prints that result's frame, exactly what the sidecar script prints for the file; any other
 * container (a mesh proxy) runs until stopped. No process is spawned.
 * @example
 * const double = await startKubeDouble({ containers: simulatedPodTasks({ result: (task) => ({ task }) }) })
 */
export function simulatedPodTasks(options: SimulatedPodTasks = {}) {
  return {
    simulate(pod: SimulatedPod, container: SimulatedContainerSpec) {
      const labels = pod.metadata.labels ?? {}
      const task = labels[LABEL_TASK] ?? ''
      if (container.name === BASE_CONTAINER) {
        const until = typeof options.until === 'function' ? options.until(labels) : options.until
        const onBaseExit = options.onBaseExit
        return {
          runMs: options.runMs ?? 20,
          ...(until ? { until } : {}),
          ...(onBaseExit ? { onExit: () => onBaseExit(labels) } : {}),
          output: options.output?.(task) ?? `${task} ran\n`,
          exitCode: options.exitCode?.(task) ?? 0,
        }
      }
      if (container.name === SIDECAR_CONTAINER) {
        const value = options.result?.(task)
        const bytes = value === undefined ? undefined : Buffer.from(JSON.stringify(value))
        // What the sidecar script prints and writes to its termination message file.
        const frame = () => formatXcomFrame(bytes)
        return { runMs: 'until-stopped' as const, onStop: frame, terminationMessage: frame }
      }
      return { runMs: 'until-stopped' as const }
    },
  }
}
